using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Failures;

/// <summary>
/// Indexes of <c>failures</c>: one per list filter (each with the time, newest first, and the id for paging), the
/// message lookup that counts attempts, the sweep's (retention, lagging counters) and the TTL backstop; and of the
/// overview's counters (<see cref="FailureCounters"/>).
/// </summary>
public sealed class FailureIndexes : IMongoIndexSetup
{
    /// <inheritdoc />
    public async Task CreateIndexesAsync(VocabDatabase database, CancellationToken cancellationToken)
    {
        var keys = Builders<FailureDocument>.IndexKeys;
        CreateIndexModel<FailureDocument> Newest(string name, params string[] fields)
        {
            var definition = keys.Combine(fields.Select(f => keys.Ascending(f)).Append(keys.Descending(f => f.FailedAt)).Append(keys.Descending(f => f.Id)));
            return new CreateIndexModel<FailureDocument>(definition, new CreateIndexOptions { Name = name });
        }

        await database.Collection<FailureDocument>(FailureStore.CollectionName).Indexes.CreateManyAsync(
        [
            Newest("status_time", "status"),
            Newest("status_group_time", "status", "group"),
            Newest("status_reason_time", "status", "reason"),
            Newest("status_user_time", "status", "userId"),
            Newest("status_key_time", "status", "keyId"),
            Newest("status_video_time", "status", "videoId"),
            Newest("time"),
            new CreateIndexModel<FailureDocument>(keys.Ascending(f => f.MessageId).Ascending(f => f.UserId), new CreateIndexOptions { Name = "message_user" }),
            new CreateIndexModel<FailureDocument>(keys.Ascending(f => f.DeadLetterId), new CreateIndexOptions { Name = "dead_letter_id" }),
            new CreateIndexModel<FailureDocument>(keys.Ascending(f => f.ExpireAt), new CreateIndexOptions { Name = "expire_ttl", ExpireAfter = TimeSpan.Zero }),
            // The sweep: retention ended, and counters lagging.
            new CreateIndexModel<FailureDocument>(keys.Ascending(f => f.RetainUntil), new CreateIndexOptions { Name = "retain_until" }),
            new CreateIndexModel<FailureDocument>(keys.Ascending(f => f.Pending), new CreateIndexOptions { Name = "pending", Sparse = true }),
        ], cancellationToken);
        var counters = Builders<BsonDocument>.IndexKeys;
        await database.Collection<BsonDocument>(FailureCounters.CollectionName).Indexes.CreateManyAsync(
        [
            new CreateIndexModel<BsonDocument>(counters.Ascending("kind").Ascending("status").Ascending("count"), new CreateIndexOptions { Name = "kind_status_count" }),
            new CreateIndexModel<BsonDocument>(counters.Ascending("kind").Ascending("hour"), new CreateIndexOptions { Name = "kind_hour" }),
            new CreateIndexModel<BsonDocument>(counters.Ascending("expireAt"), new CreateIndexOptions { Name = "expire_ttl", ExpireAfter = TimeSpan.Zero }),
        ], cancellationToken);
        await database.Collection<AuditEntry>(AuditLog.CollectionName).Indexes.CreateOneAsync(
            new CreateIndexModel<AuditEntry>(Builders<AuditEntry>.IndexKeys.Descending(a => a.At), new CreateIndexOptions { Name = "time" }),
            cancellationToken: cancellationToken);
    }
}
