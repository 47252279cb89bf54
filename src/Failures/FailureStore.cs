using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Failures;

/// <summary>
/// The <c>failures</c> collection: written once per dead-lettered copy by the ingestor, then listed, grouped and acted on
/// by vocabctl and the ops console. Nothing here reads a queue.
/// </summary>
public sealed class FailureStore(VocabDatabase database)
{
    public const string CollectionName = "failures";

    private static readonly FilterDefinitionBuilder<FailureDocument> F = Builders<FailureDocument>.Filter;

    public IMongoCollection<FailureDocument> Collection { get; } = database.Collection<FailureDocument>(CollectionName);

    /// <summary>
    /// Stores a copy unless its id is already stored (a redelivery after a crash between write and acknowledgement);
    /// true when it was new. Attempts and the first failure time count the same message of the same user already held.
    /// </summary>
    public async Task<bool> IngestAsync(FailureDocument failure, CancellationToken cancellationToken)
    {
        if (await Collection.Find(F.Eq(f => f.Id, failure.Id)).Project(Fields("_id")).FirstOrDefaultAsync(cancellationToken) is not null)
            return false;
        // A message without an id (plain-JSON publishers often send none) has nothing to be counted with.
        if (!string.IsNullOrEmpty(failure.MessageId))
        {
            var earlier = await Collection.Find(F.Eq(f => f.MessageId, failure.MessageId) & F.Eq(f => f.UserId, failure.UserId))
                .Project(Fields("firstFailedAt", "attempts")).ToListAsync(cancellationToken);
            if (earlier.Count > 0)
            {
                failure.Attempts = earlier.Max(e => e["attempts"].ToInt32()) + 1;
                failure.FirstFailedAt = earlier.Min(e => e["firstFailedAt"].ToUniversalTime()) is var first && first < failure.FailedAt ? first : failure.FailedAt;
            }
        }
        try
        {
            await Collection.InsertOneAsync(failure, cancellationToken: cancellationToken);
            return true;
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            return false;
        }
    }

    /// <summary>One failure by its id (the dead-letter id for a verified copy).</summary>
    public Task<FailureDocument?> GetAsync(string id, CancellationToken cancellationToken) =>
        Collection.Find(F.Eq(f => f.Id, id)).FirstOrDefaultAsync(cancellationToken)!;

    /// <summary>
    /// A failure by the store's id, else by the dead-letter id its copy presents, the verified copy first: a forger may
    /// copy a real dead-letter id onto a copy of its own, which is then found (and refused) only when no real one is stored.
    /// </summary>
    public async Task<FailureDocument?> FindAsync(string id, CancellationToken cancellationToken) =>
        await GetAsync(id, cancellationToken)
        ?? await Collection.Find(F.Eq(f => f.DeadLetterId, id)).SortByDescending(f => f.Verified).Limit(1).FirstOrDefaultAsync(cancellationToken);

    /// <summary>A page of failures, newest first, and the cursor of the next page (null on the last).</summary>
    public async Task<(IReadOnlyList<FailureDocument> Rows, FailureCursor? Next)> ListAsync(FailureFilter filter, int limit, CancellationToken cancellationToken)
    {
        var rows = await Collection.Find(Filter(filter)).SortByDescending(f => f.FailedAt).ThenByDescending(f => f.Id)
            .Limit(limit + 1).ToListAsync(cancellationToken);
        var next = rows.Count > limit ? new FailureCursor(rows[limit - 1].FailedAt, rows[limit - 1].Id) : null;
        return (rows.Take(limit).ToList(), next);
    }

    /// <summary>The ids of up to <paramref name="limit"/> failures the filter selects, newest first.</summary>
    public async Task<IReadOnlyList<string>> IdsAsync(FailureFilter filter, int limit, CancellationToken cancellationToken) =>
        (await Collection.Find(Filter(filter)).SortByDescending(f => f.FailedAt).ThenByDescending(f => f.Id).Limit(limit)
            .Project(Fields("_id")).ToListAsync(cancellationToken)).Select(d => d["_id"].AsString).ToList();

    /// <summary>How many failures the filter selects.</summary>
    public Task<long> CountAsync(FailureFilter filter, CancellationToken cancellationToken) =>
        Collection.CountDocumentsAsync(Filter(filter), cancellationToken: cancellationToken);

    /// <summary>
    /// Failures by group: count, distinct users, first and last seen; largest first. Three groupings, each answerable
    /// from an index alone: count and users from <c>status_group_user</c>; first and last seen as the first entry of each
    /// group along <c>status_group_time</c>, in either direction (MongoDB reads one key per group for that).
    /// </summary>
    public async Task<IReadOnlyList<FailureGroup>> GroupsAsync(string? status, CancellationToken cancellationToken)
    {
        var match = new BsonDocument("$match", status is null ? new BsonDocument() : new BsonDocument("status", status));
        var counts = Collection.Aggregate<BsonDocument>(new[]
        {
            match,
            new BsonDocument("$group", new BsonDocument
            {
                ["_id"] = "$group", ["count"] = new BsonDocument("$sum", 1), ["users"] = new BsonDocument("$addToSet", "$userId"),
            }),
        }, cancellationToken: cancellationToken).ToListAsync(cancellationToken);
        var first = EdgesAsync(match, 1, cancellationToken);
        var last = EdgesAsync(match, -1, cancellationToken);
        var (firstSeen, lastSeen) = (await first, await last);
        return (await counts).Select(g =>
            {
                var name = g["_id"].IsBsonNull ? "unknown" : g["_id"].AsString;
                return new FailureGroup(name, name.Split(':')[0], g["count"].ToInt64(), g["users"].AsBsonArray.Count(u => !u.IsBsonNull),
                    firstSeen.GetValueOrDefault(name), lastSeen.GetValueOrDefault(name));
            })
            .OrderByDescending(g => g.Count).ThenBy(g => g.Group, StringComparer.Ordinal).ToList();
    }

    // Each group's earliest (direction 1) or latest (-1) failure time.
    private async Task<Dictionary<string, DateTime>> EdgesAsync(BsonDocument match, int direction, CancellationToken cancellationToken)
    {
        var rows = await Collection.Aggregate<BsonDocument>(new[]
        {
            match,
            new BsonDocument("$sort", new BsonDocument { ["status"] = direction, ["group"] = direction, ["failedAt"] = direction }),
            new BsonDocument("$group", new BsonDocument { ["_id"] = "$group", ["at"] = new BsonDocument("$first", "$failedAt") }),
        }, cancellationToken: cancellationToken).ToListAsync(cancellationToken);
        return rows.ToDictionary(r => r["_id"].IsBsonNull ? "unknown" : r["_id"].AsString, r => r["at"].ToUniversalTime(), StringComparer.Ordinal);
    }

    /// <summary>Failures per hour over the <paramref name="hours"/> hours ending with the one <paramref name="now"/> is in; oldest first.</summary>
    public async Task<IReadOnlyList<(DateTime Hour, long Count)>> PerHourAsync(DateTime now, int hours, string? status, CancellationToken cancellationToken)
    {
        var current = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc);
        var start = current.AddHours(1 - hours);
        var match = new BsonDocument("hour", new BsonDocument("$gte", start));
        if (status is not null)
            match["status"] = status;
        // One grouping on the hour index, whatever the store holds.
        var rows = await Collection.Aggregate<BsonDocument>(new[]
        {
            new BsonDocument("$match", match),
            new BsonDocument("$group", new BsonDocument { ["_id"] = "$hour", ["count"] = new BsonDocument("$sum", 1) }),
        }, cancellationToken: cancellationToken).ToListAsync(cancellationToken);
        var counts = rows.ToDictionary(r => r["_id"].ToUniversalTime(), r => r["count"].ToInt64());
        return Enumerable.Range(0, hours).Select(i => start.AddHours(i)).Select(h => (h, counts.GetValueOrDefault(h))).ToList();
    }

    /// <summary>Appends a replay attempt; a published replay marks the failure replayed.</summary>
    public Task RecordReplayAsync(string id, ReplayRecord record, CancellationToken cancellationToken)
    {
        // $addToSet rather than $push (which the MongoDB stand-in lacks): every record differs by time, operator or outcome.
        var update = Builders<FailureDocument>.Update.AddToSet(f => f.Replays, record);
        if (record.Replayed)
            update = update.Set(f => f.Status, FailureStatus.Replayed);
        return Collection.UpdateOneAsync(F.Eq(f => f.Id, id), update, cancellationToken: cancellationToken);
    }

    /// <summary>Archives the given failures; returns how many changed.</summary>
    public async Task<long> ArchiveAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        (await Collection.UpdateManyAsync(F.In(f => f.Id, ids) & F.Ne(f => f.Status, FailureStatus.Archived),
            Builders<FailureDocument>.Update.Set(f => f.Status, FailureStatus.Archived), cancellationToken: cancellationToken)).ModifiedCount;

    /// <summary>Deletes the given failures for good; returns how many.</summary>
    public async Task<long> PurgeAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        (await Collection.DeleteManyAsync(F.In(f => f.Id, ids), cancellationToken)).DeletedCount;

    /// <summary>Deletes every failure the filter selects; returns how many.</summary>
    public async Task<long> PurgeAsync(FailureFilter filter, CancellationToken cancellationToken) =>
        (await Collection.DeleteManyAsync(Filter(filter with { Before = null }), cancellationToken)).DeletedCount;

    // Projections read as BSON documents: the MongoDB stand-in returns fields a typed projection would not expect.
    private static ProjectionDefinition<FailureDocument, BsonDocument> Fields(params string[] names) =>
        Builders<FailureDocument>.Projection.Combine(names.Select(n => Builders<FailureDocument>.Projection.Include(n)));

    private static FilterDefinition<FailureDocument> Filter(FailureFilter filter)
    {
        var parts = new List<FilterDefinition<FailureDocument>>();
        if (filter.Status is not null) parts.Add(F.Eq(f => f.Status, filter.Status));
        if (filter.Queue is not null) parts.Add(F.Eq(f => f.Queue, filter.Queue));
        if (filter.Group is not null) parts.Add(F.Eq(f => f.Group, filter.Group));
        if (filter.Reason is not null) parts.Add(F.Eq(f => f.Reason, filter.Reason));
        if (filter.UserId is not null) parts.Add(F.Eq(f => f.UserId, filter.UserId));
        if (filter.KeyId is not null) parts.Add(F.Eq(f => f.KeyId, filter.KeyId));
        if (filter.VideoId is not null) parts.Add(F.Eq(f => f.VideoId, filter.VideoId));
        if (filter.From is { } from) parts.Add(F.Gte(f => f.FailedAt, from));
        if (filter.To is { } to) parts.Add(F.Lt(f => f.FailedAt, to));
        if (filter.Before is { } before)
            parts.Add(F.Lt(f => f.FailedAt, before.FailedAt) | (F.Eq(f => f.FailedAt, before.FailedAt) & F.Lt(f => f.Id, before.Id)));
        return parts.Count == 0 ? F.Empty : F.And(parts);
    }
}
