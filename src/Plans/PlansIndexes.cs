using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>Indexes of the plan collections: rate windows expire after they end; usage by month for listings.</summary>
public sealed class PlansIndexes : IMongoIndexSetup
{
    public async Task CreateIndexesAsync(VocabDatabase database, CancellationToken cancellationToken)
    {
        await database.Collection<RateWindowDocument>(SharedRateLimiter.CollectionName).Indexes.CreateOneAsync(
            new CreateIndexModel<RateWindowDocument>(Builders<RateWindowDocument>.IndexKeys.Ascending(w => w.ExpiresAt),
                new CreateIndexOptions { Name = "expires_ttl", ExpireAfter = TimeSpan.Zero }), cancellationToken: cancellationToken);
        await database.Collection<UsageDocument>(QuotaLedger.UsageCollection).Indexes.CreateOneAsync(
            new CreateIndexModel<UsageDocument>(Builders<UsageDocument>.IndexKeys.Ascending(u => u.Month).Ascending(u => u.UserId),
                new CreateIndexOptions { Name = "month_user" }), cancellationToken: cancellationToken);
    }
}
