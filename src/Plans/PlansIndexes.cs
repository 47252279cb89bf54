using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>
/// Indexes of the plan collections: request claims expire by TTL (each document carries its own expiry), so
/// the collection stays bounded; usage by month for listings (a usage document holds its own rate windows and reservations).
/// </summary>
public sealed class PlansIndexes : IMongoIndexSetup
{
    public const string ExpiryIndexName = "expires_ttl";

    public async Task CreateIndexesAsync(VocabDatabase database, CancellationToken cancellationToken)
    {
        await database.Collection<RequestClaimDocument>(RequestClaims.CollectionName).Indexes.CreateOneAsync(
            new CreateIndexModel<RequestClaimDocument>(Builders<RequestClaimDocument>.IndexKeys.Ascending(c => c.ExpiresAt),
                new CreateIndexOptions { Name = ExpiryIndexName, ExpireAfter = TimeSpan.Zero }), cancellationToken: cancellationToken);
        await database.Collection<UsageDocument>(QuotaLedger.UsageCollection).Indexes.CreateOneAsync(
            new CreateIndexModel<UsageDocument>(Builders<UsageDocument>.IndexKeys.Ascending(u => u.Month).Ascending(u => u.UserId),
                new CreateIndexOptions { Name = "month_user" }), cancellationToken: cancellationToken);
    }
}
