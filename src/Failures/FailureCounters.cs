using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Failures;

/// <summary>
/// The overview's numbers, kept as failures come and change, so the overview reads a few small documents whatever the
/// store holds: per status and group the count, users affected and first and last seen (<c>g|…</c>), per status and hour
/// the count (<c>h|…</c>), and per status, group and user the count (<c>u|…</c>; its 0↔1 steps move the group's users).
/// <para>
/// Exact without transactions: each failure carries a revision (raised with every status change) and the revision its
/// counters include. Bringing them up to date is done by one holder of the failure's lease at a time, in steps that are
/// each a single-document write guarded by a key of that failure's step (applied once: a repeated step finds its key and
/// changes nothing); the revision being counted is written on the failure before the first step, so whoever takes over
/// after a crash finishes the same revision. Only then the failure records the counted revision and the keys are removed.
/// </para>
/// </summary>
public sealed class FailureCounters(VocabDatabase database, TimeProvider time)
{
    public const string CollectionName = "failure_counts";

    /// <summary>How long a holder may take before another may bring the same failure's counters up to date.</summary>
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(30);

    private static readonly FilterDefinitionBuilder<BsonDocument> B = Builders<BsonDocument>.Filter;
    private static readonly UpdateDefinitionBuilder<BsonDocument> U = Builders<BsonDocument>.Update;
    private static readonly FilterDefinitionBuilder<FailureDocument> F = Builders<FailureDocument>.Filter;
    private static readonly UpdateDefinitionBuilder<FailureDocument> FU = Builders<FailureDocument>.Update;

    private readonly IMongoCollection<FailureDocument> _failures = database.Collection<FailureDocument>(FailureStore.CollectionName);

    public IMongoCollection<BsonDocument> Collection { get; } = database.Collection<BsonDocument>(CollectionName);

    /// <summary>A fresh lease, for a failure inserted already held (<see cref="FailureDocument.Lease"/>).</summary>
    public (string Token, DateTime Until) NewLease() => (Guid.NewGuid().ToString("N"), Now + LeaseTime);

    /// <summary>
    /// Brings the counters up to the failure's current revision. <paramref name="lease"/> is the lease the caller already
    /// holds (an insert); otherwise a pending failure's lease is taken, and false returned when another holds it (it stays
    /// pending for that one, or for the sweep once the lease has run out).
    /// </summary>
    public async Task<bool> ReconcileAsync(string id, string? lease, CancellationToken cancellationToken)
    {
        var token = lease ?? Guid.NewGuid().ToString("N");
        var held = lease is not null;
        while (true)
        {
            if (!held && !await AcquireAsync(id, token, cancellationToken))
                return false;
            held = false;
            var failure = await ReadAsync(id, cancellationToken);
            if (failure is null || failure.Lease != token)
                return failure is null;
            if (failure.CountingRev is null && failure.CountedRev != failure.Rev)
            {
                var target = failure.Status == FailureStatus.Purging ? null : failure.Status;
                if (!await OnLeaseAsync(id, token, FU.Set(f => f.CountingRev, failure.Rev).Set(f => f.CountingStatus, target), cancellationToken))
                    return false;
                (failure.CountingRev, failure.CountingStatus) = (failure.Rev, target);
            }
            if (failure.CountingRev is { } countingRev)
            {
                var minus = failure.CountedStatus is not null && failure.CountedRev > 0 ? Key(id, failure.CountedRev, '-') : null;
                var plus = failure.CountingStatus is not null ? Key(id, countingRev, '+') : null;
                if (minus is not null)
                    await StepAsync(failure, failure.CountedStatus!, -1, minus, cancellationToken);
                if (plus is not null)
                    await StepAsync(failure, failure.CountingStatus!, +1, plus, cancellationToken);
                if (!await OnLeaseAsync(id, token, FU.Set(f => f.CountedRev, countingRev).Set(f => f.CountedStatus, failure.CountingStatus)
                        .Unset(f => f.CountingRev).Unset(f => f.CountingStatus), cancellationToken))
                    return false;
                if (minus is not null)
                    await ForgetAsync(failure, failure.CountedStatus!, minus, cancellationToken);
                if (plus is not null)
                    await ForgetAsync(failure, failure.CountingStatus!, plus, cancellationToken);
                failure.CountedRev = countingRev;
            }
            if (failure.CountedRev == failure.Rev)
            {
                var current = F.Eq(f => f.Id, id) & F.Eq(f => f.Lease, token) & F.Eq(f => f.Rev, failure.Rev);
                if (failure.Status == FailureStatus.Purging)
                {
                    if ((await _failures.DeleteOneAsync(current, cancellationToken)).DeletedCount == 1)
                        return true;
                }
                else if ((await _failures.UpdateOneAsync(current, FU.Unset(f => f.Lease).Unset(f => f.LeaseUntil).Unset(f => f.Pending),
                             cancellationToken: cancellationToken)).ModifiedCount == 1)
                    return true;
            }
            // The status changed meanwhile: let go and take the next revision in a new turn.
            await OnLeaseAsync(id, token, FU.Unset(f => f.Lease).Unset(f => f.LeaseUntil), cancellationToken);
        }
    }

    /// <summary>Each group of the status with failures in it, largest first.</summary>
    public async Task<IReadOnlyList<FailureGroup>> GroupsAsync(string status, CancellationToken cancellationToken)
    {
        var rows = await Collection.Find(B.Eq("kind", "g") & B.Eq("status", status) & B.Gt("count", 0L)).ToListAsync(cancellationToken);
        return rows.Select(g =>
            {
                var name = g["group"].AsString;
                return new FailureGroup(name, name.Split(':')[0], g["count"].ToInt64(), g.GetValue("users", 0L).ToInt64(),
                    g["firstSeen"].ToUniversalTime(), g["lastSeen"].ToUniversalTime());
            })
            .OrderByDescending(g => g.Count).ThenBy(g => g.Group, StringComparer.Ordinal).ToList();
    }

    /// <summary>Failures per hour (any status when <paramref name="status"/> is null) from <paramref name="start"/> on.</summary>
    public async Task<Dictionary<DateTime, long>> PerHourAsync(DateTime start, string? status, CancellationToken cancellationToken)
    {
        var filter = B.Eq("kind", "h") & B.Gte("hour", start);
        if (status is not null)
            filter &= B.Eq("status", status);
        var rows = await Collection.Find(filter).ToListAsync(cancellationToken);
        return rows.GroupBy(r => r["hour"].ToUniversalTime()).ToDictionary(g => g.Key, g => g.Sum(r => r["count"].ToInt64()));
    }

    /// <summary>
    /// Recomputes every counter from the failures as they stand and marks each counted. Offline only, with nothing else
    /// writing the store: for a store seeded in bulk (the benchmark) or filled before the counters existed.
    /// </summary>
    public async Task RebuildAsync(CancellationToken cancellationToken)
    {
        await _failures.DeleteManyAsync(F.Eq(f => f.Status, FailureStatus.Purging), cancellationToken);
        var groups = new Dictionary<string, (string Status, string Group, long Count, long Users, DateTime First, DateTime Last)>(StringComparer.Ordinal);
        var hours = new Dictionary<string, (string Status, DateTime Hour, long Count, DateTime ExpireAt)>(StringComparer.Ordinal);
        var users = new Dictionary<string, (string Status, string Group, string User, long Count)>(StringComparer.Ordinal);
        var revisions = new HashSet<(int, string)>();
        var fields = Builders<FailureDocument>.Projection.Include(f => f.Status).Include(f => f.Group).Include(f => f.UserId)
            .Include(f => f.FailedAt).Include(f => f.ExpireAt).Include(f => f.Rev);
        // In batches: without a batch size the MongoDB stand-in answers the whole store in one reply, which past some 50 MB
        // the driver refuses ("The size of the message is invalid"; seen at 100,000 failures).
        using (var cursor = await _failures.Find(F.Empty, new FindOptions { BatchSize = 1000 }).Project<FailureDocument>(fields).ToCursorAsync(cancellationToken))
        {
            while (await cursor.MoveNextAsync(cancellationToken))
            {
                foreach (var f in cursor.Current)
                {
                    revisions.Add((f.Rev, f.Status));
                    var g = GroupId(f.Status, f.Group);
                    groups[g] = groups.TryGetValue(g, out var was)
                        ? was with { Count = was.Count + 1, First = Min(was.First, f.FailedAt), Last = Max(was.Last, f.FailedAt) }
                        : (f.Status, f.Group, 1, 0, f.FailedAt, f.FailedAt);
                    var h = HourId(f.Status, f.Hour);
                    hours[h] = hours.TryGetValue(h, out var hour)
                        ? hour with { Count = hour.Count + 1, ExpireAt = Max(hour.ExpireAt, f.ExpireAt) }
                        : (f.Status, f.Hour, 1, f.ExpireAt);
                    if (f.UserId is null)
                        continue;
                    var u = UserId(f.Status, f.Group, f.UserId);
                    if (users.TryGetValue(u, out var user))
                        users[u] = user with { Count = user.Count + 1 };
                    else
                    {
                        users[u] = (f.Status, f.Group, f.UserId, 1);
                        groups[g] = groups[g] with { Users = groups[g].Users + 1 };
                    }
                }
            }
        }
        await Collection.DeleteManyAsync(B.Empty, cancellationToken);
        var documents = groups.Select(g => new BsonDocument
            {
                ["_id"] = g.Key, ["kind"] = "g", ["status"] = g.Value.Status, ["group"] = g.Value.Group, ["count"] = g.Value.Count,
                ["users"] = g.Value.Users, ["firstSeen"] = g.Value.First, ["lastSeen"] = g.Value.Last, ["ops"] = new BsonDocument(),
            })
            .Concat(hours.Select(h => new BsonDocument
            {
                ["_id"] = h.Key, ["kind"] = "h", ["status"] = h.Value.Status, ["hour"] = h.Value.Hour, ["count"] = h.Value.Count,
                ["expireAt"] = h.Value.ExpireAt, ["ops"] = new BsonDocument(),
            }))
            .Concat(users.Select(u => new BsonDocument
            {
                ["_id"] = u.Key, ["kind"] = "u", ["status"] = u.Value.Status, ["group"] = u.Value.Group, ["userId"] = u.Value.User,
                ["count"] = u.Value.Count, ["ops"] = new BsonDocument(),
            }))
            .ToList();
        // One call: the driver splits it as the server allows (the MongoDB stand-in checks every unique index over the
        // whole collection once per insert command, so a thousand-document chunking costs it quadratically more).
        if (documents.Count > 0)
            await Collection.InsertManyAsync(documents, new InsertManyOptions { IsOrdered = false }, cancellationToken);
        foreach (var (rev, status) in revisions)
            await _failures.UpdateManyAsync(F.Eq(f => f.Rev, rev) & F.Eq(f => f.Status, status),
                FU.Set(f => f.CountedRev, rev).Set(f => f.CountedStatus, status).Unset(f => f.CountingRev).Unset(f => f.CountingStatus)
                    .Unset(f => f.Pending).Unset(f => f.Lease).Unset(f => f.LeaseUntil), cancellationToken: cancellationToken);
    }

    // One failure's step into (+1) or out of (-1) the counters of a status; every write in it is applied once under its key.
    private async Task StepAsync(FailureDocument failure, string status, int sign, string key, CancellationToken cancellationToken)
    {
        var group = GroupId(status, failure.Group);
        await OnceAsync(group, key, U.Inc("count", (long)sign).SetOnInsert("kind", "g").SetOnInsert("status", status).SetOnInsert("group", failure.Group),
            cancellationToken);
        if (sign > 0)
        {
            // Earliest and latest need no key: moving an edge out to this failure is the same however often it is done.
            await ExtendAsync(group, "firstSeen", failure.FailedAt, earlier: true, cancellationToken);
            await ExtendAsync(group, "lastSeen", failure.FailedAt, earlier: false, cancellationToken);
        }
        else
            await RefreshEdgesAsync(group, status, failure, cancellationToken);
        var hour = HourId(status, failure.Hour);
        await OnceAsync(hour, key, U.Inc("count", (long)sign).SetOnInsert("kind", "h").SetOnInsert("status", status).SetOnInsert("hour", failure.Hour),
            cancellationToken);
        await ExtendAsync(hour, "expireAt", failure.ExpireAt, earlier: false, cancellationToken);
        if (failure.UserId is null)
            return;
        var user = UserId(status, failure.Group, failure.UserId);
        try
        {
            await Collection.UpdateOneAsync(B.Eq("_id", user), U.SetOnInsert("kind", "u").SetOnInsert("status", status).SetOnInsert("group", failure.Group)
                .SetOnInsert("userId", failure.UserId).SetOnInsert("count", 0L), new UpdateOptions { IsUpsert = true }, cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            // Created by a concurrent step of another failure of the same user.
        }
        if (await UserStepAsync(user, sign, key, cancellationToken))
            await OnceAsync(group, key + "u", U.Inc("users", (long)sign), cancellationToken);
    }

    // The user's count moves by one; true when that moved the user in or out of the affected (0↔1), recorded with the key.
    private async Task<bool> UserStepAsync(string user, int sign, string key, CancellationToken cancellationToken)
    {
        var unapplied = B.Eq("_id", user) & B.Exists("ops." + key, false);
        var edge = sign > 0 ? 0L : 1L;
        while (true)
        {
            if ((await Collection.UpdateOneAsync(unapplied & B.Eq("count", edge), U.Inc("count", (long)sign).Set("ops." + key, "t"),
                    cancellationToken: cancellationToken)).ModifiedCount == 1)
                return true;
            if ((await Collection.UpdateOneAsync(unapplied & B.Gt("count", edge), U.Inc("count", (long)sign).Set("ops." + key, "n"),
                    cancellationToken: cancellationToken)).ModifiedCount == 1)
                return false;
            var document = await Collection.Find(B.Eq("_id", user)).FirstOrDefaultAsync(cancellationToken);
            if (document?.GetValue("ops", new BsonDocument()).AsBsonDocument.GetValue(key, BsonNull.Value) is BsonString applied)
                return applied.Value == "t";
            if (document is null || (sign < 0 && document["count"].ToInt64() <= 0))
                return false; // nothing to take out (never counted in): leave it
            // The count moved between the two writes: try again.
        }
    }

    // $min and $max as a conditional $set (the MongoDB stand-in has neither operator).
    private Task ExtendAsync(string id, string field, DateTime value, bool earlier, CancellationToken cancellationToken) =>
        Collection.UpdateOneAsync(B.Eq("_id", id) & (B.Exists(field, false) | (earlier ? B.Gt(field, value) : B.Lt(field, value))), U.Set(field, value),
            cancellationToken: cancellationToken);

    private async Task OnceAsync(string id, string key, UpdateDefinition<BsonDocument> update, CancellationToken cancellationToken)
    {
        try
        {
            await Collection.UpdateOneAsync(B.Eq("_id", id) & B.Exists("ops." + key, false), update.Set("ops." + key, 1),
                new UpdateOptions { IsUpsert = true }, cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            // The key is there: applied before (by a holder that stopped before recording it on the failure).
        }
    }

    // First and last seen cannot be taken back by arithmetic: when the failure leaving was an edge, read the new edge from
    // the status_group_time index. Written only if the edge is still the one leaving, so an earlier arrival is not undone.
    private async Task RefreshEdgesAsync(string group, string status, FailureDocument failure, CancellationToken cancellationToken)
    {
        var counter = await Collection.Find(B.Eq("_id", group)).FirstOrDefaultAsync(cancellationToken);
        foreach (var (field, ascending) in new[] { ("firstSeen", true), ("lastSeen", false) })
        {
            if (counter is null || !counter.TryGetValue(field, out var edge) || edge.ToUniversalTime() != failure.FailedAt)
                continue;
            var remaining = _failures.Find(F.Eq(f => f.Status, status) & F.Eq(f => f.Group, failure.Group));
            var next = await (ascending ? remaining.SortBy(f => f.Status).ThenBy(f => f.Group).ThenBy(f => f.FailedAt)
                    : remaining.SortByDescending(f => f.Status).ThenByDescending(f => f.Group).ThenByDescending(f => f.FailedAt))
                .Limit(1).Project(Builders<FailureDocument>.Projection.Include(f => f.FailedAt)).FirstOrDefaultAsync(cancellationToken);
            if (next is not null)
                await Collection.UpdateOneAsync(B.Eq("_id", group) & B.Eq(field, failure.FailedAt), U.Set(field, next["failedAt"].ToUniversalTime()),
                    cancellationToken: cancellationToken);
        }
    }

    // The step's keys are not needed once the failure records the counted revision.
    private Task ForgetAsync(FailureDocument failure, string status, string key, CancellationToken cancellationToken)
    {
        var ids = new List<string> { GroupId(status, failure.Group), HourId(status, failure.Hour) };
        if (failure.UserId is not null)
            ids.Add(UserId(status, failure.Group, failure.UserId));
        return Collection.UpdateManyAsync(B.In("_id", ids), U.Unset("ops." + key).Unset("ops." + key + "u"), cancellationToken: cancellationToken);
    }

    private async Task<bool> AcquireAsync(string id, string token, CancellationToken cancellationToken)
    {
        var now = Now;
        var free = F.Eq(f => f.Id, id) & F.Eq(f => f.Pending, true) & (F.Exists(f => f.LeaseUntil, false) | F.Lte(f => f.LeaseUntil, now));
        return (await _failures.UpdateOneAsync(free, FU.Set(f => f.Lease, token).Set(f => f.LeaseUntil, now + LeaseTime),
            cancellationToken: cancellationToken)).ModifiedCount == 1;
    }

    private async Task<bool> OnLeaseAsync(string id, string token, UpdateDefinition<FailureDocument> update, CancellationToken cancellationToken) =>
        (await _failures.UpdateOneAsync(F.Eq(f => f.Id, id) & F.Eq(f => f.Lease, token), update, cancellationToken: cancellationToken)).MatchedCount == 1;

    private Task<FailureDocument?> ReadAsync(string id, CancellationToken cancellationToken) =>
        _failures.Find(F.Eq(f => f.Id, id))
            .Project<FailureDocument>(Builders<FailureDocument>.Projection.Exclude(f => f.Copy).Exclude(f => f.Body).Exclude(f => f.Headers).Exclude(f => f.Replays))
            .FirstOrDefaultAsync(cancellationToken)!;

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    // Lengths first, so no group or user name (an unverified copy's are anyone's) can make two counters one.
    private static string GroupId(string status, string group) => $"g|{status}|{group.Length}:{group}";

    private static string HourId(string status, DateTime hour) => $"h|{status}|{hour.ToString("yyyyMMddHH", CultureInfo.InvariantCulture)}";

    private static string UserId(string status, string group, string user) => $"u|{status}|{group.Length}:{group}|{user}";

    private static string Key(string id, int rev, char sign) =>
        "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{id}\n{rev.ToString(CultureInfo.InvariantCulture)}\n{sign}")))[..32];
}
