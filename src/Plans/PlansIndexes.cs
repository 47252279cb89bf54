using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>
/// Indexes of the plan collections: usage by month for listings (a usage document holds its own rate window, and the
/// reservations and claims of its requests in flight).
/// </summary>
public sealed class PlansIndexes : IMongoIndexSetup
{
    public async Task CreateIndexesAsync(VocabDatabase database, CancellationToken cancellationToken) =>
        await database.Collection<UsageDocument>(QuotaLedger.UsageCollection).Indexes.CreateOneAsync(
            new CreateIndexModel<UsageDocument>(Builders<UsageDocument>.IndexKeys.Ascending(u => u.Month).Ascending(u => u.UserId),
                new CreateIndexOptions { Name = "month_user" }), cancellationToken: cancellationToken);
}
