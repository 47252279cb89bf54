using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Failures;

/// <summary>
/// The <c>failures</c> collection: written once per dead-lettered copy by the ingestor, then listed, grouped and acted on
/// by vocabctl and the ops console. Nothing here reads a queue.
/// </summary>
public sealed class FailureStore(VocabDatabase database, TimeProvider time)
{
    public const string CollectionName = "failures";

    /// <summary>How long after its retention a failure the sweep missed is removed by the TTL index (without its counters).</summary>
    public static readonly TimeSpan TtlBackstop = TimeSpan.FromDays(1);

    /// <summary>How often the ingestion service runs <see cref="MaintainAsync"/>.</summary>
    public static readonly TimeSpan MaintenanceInterval = TimeSpan.FromSeconds(30);

    private static readonly FilterDefinitionBuilder<FailureDocument> F = Builders<FailureDocument>.Filter;

    public IMongoCollection<FailureDocument> Collection { get; } = database.Collection<FailureDocument>(CollectionName);

    /// <summary>The overview's counters, kept along with every insert and status change.</summary>
    public FailureCounters Counters { get; } = new(database, time);

    /// <summary>
    /// Stores a copy unless its id is already stored (a redelivery after a crash between write and acknowledgement);
    /// true when it was new. The counters count it once, following only the insert. Attempts and the first failure time count the same message of the same user already held.
    /// </summary>
    public async Task<bool> IngestAsync(FailureDocument failure, CancellationToken cancellationToken)
    {
        if (await Collection.Find(F.Eq(f => f.Id, failure.Id)).Project(Fields("_id", "pending")).FirstOrDefaultAsync(cancellationToken) is { } stored)
        {
            // Stored by a holder that stopped before its counters followed: finish that now (or leave it to its lease).
            if (stored.Contains("pending"))
                await Counters.ReconcileAsync(failure.Id, null, cancellationToken);
            return false;
        }
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
        // Inserted already leased and lagging: the counters follow only this insert, and a crash before they do leaves it pending.
        (failure.Lease, failure.LeaseUntil) = Counters.NewLease();
        (failure.Rev, failure.CountedRev, failure.CountedStatus, failure.Pending) = (1, 0, null, true);
        try
        {
            await Collection.InsertOneAsync(failure, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            return false;
        }
        await Counters.ReconcileAsync(failure.Id, failure.Lease, cancellationToken);
        return true;
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

    /// <summary>Failures of the status by group: count, users affected, first and last seen; largest first. Read from the counters.</summary>
    public Task<IReadOnlyList<FailureGroup>> GroupsAsync(string status, CancellationToken cancellationToken) =>
        Counters.GroupsAsync(status, cancellationToken);

    /// <summary>Failures per hour over the <paramref name="hours"/> hours ending with the one <paramref name="now"/> is in; oldest first.</summary>
    public async Task<IReadOnlyList<(DateTime Hour, long Count)>> PerHourAsync(DateTime now, int hours, string? status, CancellationToken cancellationToken)
    {
        var current = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc);
        var start = current.AddHours(1 - hours);
        var counts = await Counters.PerHourAsync(start, status, cancellationToken);
        return Enumerable.Range(0, hours).Select(i => start.AddHours(i)).Select(h => (h, counts.GetValueOrDefault(h))).ToList();
    }

    /// <summary>Appends a replay attempt to the failure's history.</summary>
    public Task RecordReplayAsync(string id, ReplayRecord record, CancellationToken cancellationToken) =>
        // $addToSet rather than $push (which the MongoDB stand-in lacks): every record differs by time, operator or outcome.
        Collection.UpdateOneAsync(F.Eq(f => f.Id, id), Builders<FailureDocument>.Update.AddToSet(f => f.Replays, record), cancellationToken: cancellationToken);

    /// <summary>Marks a failure replayed unless it already is (two operators at once: one wins); true for the one that did.</summary>
    public async Task<bool> ClaimForReplayAsync(string id, CancellationToken cancellationToken) =>
        await ChangeStatusAsync([id], FailureStatus.Replayed, F.Ne(f => f.Status, FailureStatus.Replayed) & F.Ne(f => f.Status, FailureStatus.Purging),
            cancellationToken) == 1;

    /// <summary>Opens a claimed failure again (its replay was not published).</summary>
    public Task ReopenAsync(string id, CancellationToken cancellationToken) =>
        ChangeStatusAsync([id], FailureStatus.Open, F.Eq(f => f.Status, FailureStatus.Replayed), cancellationToken);

    /// <summary>Archives the given failures; returns how many changed.</summary>
    public Task<long> ArchiveAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        ChangeStatusAsync(ids, FailureStatus.Archived, F.Ne(f => f.Status, FailureStatus.Archived) & F.Ne(f => f.Status, FailureStatus.Purging),
            cancellationToken);

    /// <summary>Deletes the given failures for good (out of the counters first); returns how many.</summary>
    public Task<long> PurgeAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        ChangeStatusAsync(ids, FailureStatus.Purging, F.Ne(f => f.Status, FailureStatus.Purging), cancellationToken);

    /// <summary>Deletes every failure the filter selects; returns how many.</summary>
    public async Task<long> PurgeAsync(FailureFilter filter, CancellationToken cancellationToken) =>
        await PurgeAsync(await IdsAsync(filter with { Before = null }, int.MaxValue, cancellationToken), cancellationToken);

    /// <summary>
    /// Housekeeping (the ingestion service runs it every <see cref="MaintenanceInterval"/>): failures whose retention
    /// has ended are purged, counters included; failures whose counters lag (a holder that stopped midway) are brought up
    /// to date once their lease has run out; failures stored before the counters existed are counted.
    /// </summary>
    public async Task<(long Expired, long Caught)> MaintainAsync(CancellationToken cancellationToken)
    {
        // Once per process: nothing written since lacks a revision, and the lookup has no index to use.
        if (!_adopted)
            _adopted = await AdoptUncountedAsync(cancellationToken);
        long expired = 0;
        while (true)
        {
            var ids = (await Collection.Find(F.Lte(f => f.RetainUntil, Now) & F.Ne(f => f.Status, FailureStatus.Purging)).Limit(500)
                .Project(Fields("_id")).ToListAsync(cancellationToken)).Select(d => d["_id"].AsString).ToList();
            if (ids.Count == 0)
                break;
            expired += await PurgeAsync(ids, cancellationToken);
        }
        long caught = 0;
        var now = Now;
        var lagging = (await Collection.Find(F.Eq(f => f.Pending, true) & (F.Exists(f => f.LeaseUntil, false) | F.Lte(f => f.LeaseUntil, now)))
            .Limit(1000).Project(Fields("_id")).ToListAsync(cancellationToken)).Select(d => d["_id"].AsString);
        foreach (var id in lagging)
            if (await Counters.ReconcileAsync(id, null, cancellationToken))
                caught++;
        return (expired, caught);
    }

    private bool _adopted;

    // Failures written before revisions existed: counted from scratch, retained as long as their TTL said; true when none are left.
    private async Task<bool> AdoptUncountedAsync(CancellationToken cancellationToken)
    {
        var old = await Collection.Find(F.Exists(f => f.Rev, false)).Project(Fields("_id", "expireAt")).Limit(1000).ToListAsync(cancellationToken);
        foreach (var document in old)
        {
            var expireAt = document.GetValue("expireAt", BsonNull.Value) is { IsValidDateTime: true } at ? at.ToUniversalTime() : Now;
            await Collection.UpdateOneAsync(F.Eq(f => f.Id, document["_id"].AsString) & F.Exists(f => f.Rev, false),
                Builders<FailureDocument>.Update.Set(f => f.Rev, 1).Set(f => f.CountedRev, 0).Set(f => f.Pending, true)
                    .Set(f => f.RetainUntil, expireAt).Set(f => f.ExpireAt, expireAt + TtlBackstop), cancellationToken: cancellationToken);
        }
        return old.Count == 0;
    }

    // The status and the revision change in one write that also marks the counters lagging; then they are brought along.
    private async Task<long> ChangeStatusAsync(IReadOnlyCollection<string> ids, string status, FilterDefinition<FailureDocument> from,
        CancellationToken cancellationToken)
    {
        long changed = 0;
        foreach (var chunk in ids.Distinct(StringComparer.Ordinal).Chunk(500))
        {
            changed += (await Collection.UpdateManyAsync(F.In(f => f.Id, chunk) & from,
                Builders<FailureDocument>.Update.Set(f => f.Status, status).Inc(f => f.Rev, 1).Set(f => f.Pending, true),
                cancellationToken: cancellationToken)).ModifiedCount;
            // Stopped here, the counters stay lagging (pending) and the sweep brings them along once the lease has run out.
            foreach (var id in chunk)
                await Counters.ReconcileAsync(id, null, cancellationToken);
        }
        return changed;
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    // Projections read as BSON documents: the MongoDB stand-in returns fields a typed projection would not expect.
    private static ProjectionDefinition<FailureDocument, BsonDocument> Fields(params string[] names) =>
        Builders<FailureDocument>.Projection.Combine(names.Select(n => Builders<FailureDocument>.Projection.Include(n)));

    private static FilterDefinition<FailureDocument> Filter(FailureFilter filter)
    {
        var parts = new List<FilterDefinition<FailureDocument>>();
        parts.Add(filter.Status is not null ? F.Eq(f => f.Status, filter.Status) : F.Ne(f => f.Status, FailureStatus.Purging));
        if (filter.Queue is not null) parts.Add(F.Eq(f => f.Queue, filter.Queue));
        if (filter.Group is not null) parts.Add(F.Eq(f => f.Group, filter.Group));
        if (filter.Reason is not null) parts.Add(F.Eq(f => f.Reason, filter.Reason));
        if (filter.UserId is not null) parts.Add(F.Eq(f => f.UserId, filter.UserId));
        if (filter.KeyId is not null) parts.Add(F.Eq(f => f.KeyId, filter.KeyId));
        if (filter.VideoId is not null) parts.Add(F.Eq(f => f.VideoId, filter.VideoId));
        if (filter.From is { } from) parts.Add(F.Gte(f => f.FailedAt, from));
        if (filter.To is { } to) parts.Add(F.Lt(f => f.FailedAt, to));
        // The plain bound on the time starts the index range at the cursor, whether or not the planner pushes the $or
        // down into index bounds; the $or then only drops the rows of the same time already shown.
        if (filter.Before is { } before)
            parts.Add(F.Lte(f => f.FailedAt, before.FailedAt) &
                      (F.Lt(f => f.FailedAt, before.FailedAt) | (F.Eq(f => f.FailedAt, before.FailedAt) & F.Lt(f => f.Id, before.Id))));
        return parts.Count == 0 ? F.Empty : F.And(parts);
    }
}
