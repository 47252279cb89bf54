using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Contracts;
using Vocab.Failures;
using Vocab.Storage;
using Vocab.TestSupport;

namespace Vocab.Tests.Ops;

/// <summary>What the overview and the list read from the failure store: groups, users affected, first and last seen, hours, pages.</summary>
public sealed class FailureStoreTests : IAsyncLifetime
{
    private static readonly DateTime Now = new(2026, 11, 30, 12, 30, 0, DateTimeKind.Utc);
    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private readonly MongoClient _client = new(ServiceAddresses.Mongo);
    private readonly FakeTimeProvider _time = new(Now);
    private FailureStore _store = null!;

    public async Task InitializeAsync()
    {
        var database = new VocabDatabase(_client, Options.Create(new MongoOptions { Database = _database }));
        await new FailureIndexes().CreateIndexesAsync(database, default);
        _store = new FailureStore(database, _time);
        Failure("a", RejectionReasons.LlmUnavailable, "u1", Now.AddHours(-1));
        Failure("b", RejectionReasons.LlmUnavailable, "u2", Now.AddHours(-3));
        Failure("c", RejectionReasons.LlmUnavailable, "u1", Now.AddMinutes(-5));
        Failure("d", RejectionReasons.InternalError, "u3", Now.AddHours(-30), "System.TimeoutException");
        Failure("e", RejectionReasons.InternalError, "u3", Now.AddHours(-2), "System.IO.IOException");
        Failure("f", RejectionReasons.LlmUnavailable, "u9", Now.AddHours(-2), status: FailureStatus.Archived);
        foreach (var failure in _pending)
            Assert.True(await _store.IngestAsync(failure, default));
    }

    public async Task DisposeAsync() => await MongoCleanup.DropDatabaseAsync(_client, _database);

    private readonly List<FailureDocument> _pending = [];

    private void Failure(string id, string reason, string user, DateTime at, string? fault = null, string status = FailureStatus.Open) =>
        _pending.Add(new FailureDocument
        {
            Id = id, DeadLetterId = id, Reason = reason, Group = reason == RejectionReasons.InternalError ? $"{reason}: {fault}" : reason,
            UserId = user, FailedAt = at, FirstFailedAt = at, IngestedAt = at, RetainUntil = at.AddDays(30), ExpireAt = at.AddDays(31), FaultType = fault, Status = status,
            KeyId = $"key-{user}", VideoId = $"video-{id}",
        });

    [Fact]
    public async Task Groups_CountOpenFailures_UsersAffected_FirstAndLastSeen()
    {
        var groups = await _store.GroupsAsync(FailureStatus.Open, default);

        Assert.Equal([RejectionReasons.LlmUnavailable, "internal_error: System.IO.IOException", "internal_error: System.TimeoutException"], groups.Select(g => g.Group));
        var llm = groups[0];
        Assert.Equal((3L, 2L, Now.AddHours(-3), Now.AddMinutes(-5)), (llm.Count, llm.UsersAffected, llm.FirstSeen, llm.LastSeen));
        Assert.Equal(RejectionReasons.InternalError, groups[1].Reason);
        Assert.Equal(Now.AddHours(-30), groups[2].FirstSeen);
    }

    [Fact]
    public async Task PerHour_CountsTheLast24Hours_OldestFirst()
    {
        var hours = await _store.PerHourAsync(Now, 24, null, default);

        Assert.Equal(24, hours.Count);
        Assert.Equal(new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc), hours[^1].Hour);
        Assert.Equal(1, hours[^1].Count);
        Assert.Equal(1, hours[^2].Count);
        Assert.Equal(2, hours[^3].Count);
        Assert.Equal(5, hours.Sum(h => h.Count));
    }

    [Fact]
    public async Task List_FiltersAndPagesNewestFirst()
    {
        var (first, next) = await _store.ListAsync(new FailureFilter(Reason: RejectionReasons.LlmUnavailable), 2, default);
        var (second, last) = await _store.ListAsync(new FailureFilter(Reason: RejectionReasons.LlmUnavailable, Before: next), 2, default);
        var (byUser, _) = await _store.ListAsync(new FailureFilter(UserId: "u1", From: Now.AddMinutes(-30)), 10, default);

        Assert.Equal(["c", "a"], first.Select(f => f.Id));
        Assert.Equal(["b"], second.Select(f => f.Id));
        Assert.Null(last);
        Assert.Equal(["c"], byUser.Select(f => f.Id));
        Assert.Equal(next, FailureCursor.Parse(next!.ToString()));
    }

    [Fact]
    public async Task List_PageBoundaryBetweenFailuresOfTheSameTime_ShowsEachOnce()
    {
        var at = Now.AddMinutes(-10);
        foreach (var (id, time) in new[] { ("t1", at), ("t2", at), ("t3", at), ("t0", at.AddMinutes(-1)), ("t4", at.AddMinutes(1)) })
        {
            _pending.Clear();
            Failure(id, RejectionReasons.LlmInvalidOutput, "u5", time);
            Assert.True(await _store.IngestAsync(_pending[0], default));
        }
        var filter = new FailureFilter(Reason: RejectionReasons.LlmInvalidOutput);

        var (first, next) = await _store.ListAsync(filter, 2, default);
        var (second, then) = await _store.ListAsync(filter with { Before = next }, 2, default);
        var (third, last) = await _store.ListAsync(filter with { Before = then }, 2, default);

        Assert.Equal(["t4", "t3"], first.Select(f => f.Id));
        Assert.Equal(["t2", "t1"], second.Select(f => f.Id));
        Assert.Equal(["t0"], third.Select(f => f.Id));
        Assert.Null(last);
    }

    [Fact]
    public async Task Rebuild_CountersLost_CountsTheStoreAgain()
    {
        var before = await _store.GroupsAsync(FailureStatus.Open, default);
        await _store.Counters.Collection.DeleteManyAsync(FilterDefinition<BsonDocument>.Empty);
        Assert.Empty(await _store.GroupsAsync(FailureStatus.Open, default));

        await _store.Counters.RebuildAsync(default);

        Assert.Equal(before, await _store.GroupsAsync(FailureStatus.Open, default));
        Assert.Equal(3L, before[0].Count);
        Assert.Equal(5, (await _store.PerHourAsync(Now, 24, null, default)).Sum(h => h.Count));
    }

    [Fact]
    public async Task Ingest_SameDeadLetterTwice_CountsOnce()
    {
        var again = await _store.IngestAsync(Copy("a", RejectionReasons.LlmUnavailable, "u1", Now.AddHours(-1)), default);

        Assert.False(again);
        var llm = (await _store.GroupsAsync(FailureStatus.Open, default))[0];
        Assert.Equal((3L, 2L), (llm.Count, llm.UsersAffected));
        Assert.Equal(5, (await _store.PerHourAsync(Now, 24, null, default)).Sum(h => h.Count));
    }

    [Fact]
    public async Task IngestAndArchive_StoppedAtEachWrite_ThenRedeliveredAndSwept_CountEachOnce()
    {
        const int Writes = 24; // more than an ingest or an archive ever sends
        var killed = 0;
        for (var k = 1; k <= Writes; k++)
        {
            // A process stopped at its k-th command: what it sent may or may not have been applied.
            var copy = Copy($"killed-{k}", RejectionReasons.LlmUnavailable, $"crash-{k % 3}", Now.AddMinutes(-k));
            killed += await StopAtAsync(k, (store, stop) => store.IngestAsync(copy, stop)) ? 1 : 0;
            Assert.False(await _store.IngestAsync(Copy(copy.Id, copy.Reason, copy.UserId!, copy.FailedAt), default) &&
                         await _store.GetAsync(copy.Id, default) is null);
        }
        for (var k = 1; k <= Writes; k += 2)
            killed += await StopAtAsync(k, (store, stop) => store.ArchiveAsync([$"killed-{k}"], stop)) ? 1 : 0;
        _time.Advance(FailureCounters.LeaseTime);
        await _store.MaintainAsync(default);
        for (var k = 1; k <= Writes; k += 2)
            await _store.ArchiveAsync([$"killed-{k}"], default); // the operator presses again where the first did not get through

        Assert.InRange(killed, 16, 2 * Writes);
        var open = (await _store.GroupsAsync(FailureStatus.Open, default)).Single(g => g.Group == RejectionReasons.LlmUnavailable);
        Assert.Equal((3L + Writes / 2, 2L + 3, Now.AddHours(-3), Now.AddMinutes(-2)), (open.Count, open.UsersAffected, open.FirstSeen, open.LastSeen));
        var archived = (await _store.GroupsAsync(FailureStatus.Archived, default)).Single();
        Assert.Equal((1L + Writes / 2, 1L + 3, Now.AddHours(-2), Now.AddMinutes(-1)), (archived.Count, archived.UsersAffected, archived.FirstSeen, archived.LastSeen));
        Assert.Equal(5 + Writes, (await _store.PerHourAsync(Now, 24, null, default)).Sum(h => h.Count));
        Assert.Empty(await _store.Collection.Find(Builders<FailureDocument>.Filter.Eq(f => f.Pending, true)).ToListAsync());
        var counters = await _store.Counters.Collection.Find(FilterDefinition<BsonDocument>.Empty).ToListAsync();
        // Keys outlive their step only where a process stopped between recording and forgetting them.
        Assert.InRange(counters.Sum(c => c.GetValue("ops", new BsonDocument()).AsBsonDocument.ElementCount), 0, 8);
    }

    // Runs the action on a store of its own whose k-th command is cancelled as it is sent; true when that stopped it.
    private async Task<bool> StopAtAsync(int k, Func<FailureStore, CancellationToken, Task> action)
    {
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var settings = MongoClientSettings.FromConnectionString(ServiceAddresses.Mongo);
        settings.ClusterConfigurator = cluster => cluster.Subscribe<MongoDB.Driver.Core.Events.CommandStartedEvent>(e =>
        {
            if (e.CommandName is "insert" or "update" or "delete" or "find" && Interlocked.Increment(ref sent) == k)
                stop.Cancel();
        });
        using var client = new MongoClient(settings);
        var store = new FailureStore(new VocabDatabase(client, Options.Create(new MongoOptions { Database = _database })), _time);
        try
        {
            await action(store, stop.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    [Fact]
    public async Task Reconcile_AfterAHolderStoppedBeforeItsSteps_CountsIt()
    {
        var failure = Copy("g", RejectionReasons.LlmUnavailable, "u7", Now.AddMinutes(-1));
        (failure.Pending, failure.Lease, failure.LeaseUntil) = (true, "killed", Now.AddSeconds(5));
        await _store.Collection.InsertOneAsync(failure);

        _time.Advance(FailureCounters.LeaseTime);
        await _store.MaintainAsync(default);

        var llm = (await _store.GroupsAsync(FailureStatus.Open, default))[0];
        Assert.Equal((4L, 3L, Now.AddMinutes(-1)), (llm.Count, llm.UsersAffected, llm.LastSeen));
    }

    [Fact]
    public async Task Maintain_CountsAFailureStoredBeforeTheCounters()
    {
        var at = Now.AddMinutes(-1);
        await _store.Collection.Database.GetCollection<BsonDocument>(FailureStore.CollectionName).InsertOneAsync(new BsonDocument
        {
            ["_id"] = "legacy", ["deadLetterId"] = "legacy", ["queue"] = "error", ["reason"] = RejectionReasons.LlmUnavailable,
            ["group"] = RejectionReasons.LlmUnavailable, ["userId"] = "u-legacy", ["failedAt"] = at, ["hour"] = at.AddMinutes(-at.Minute),
            ["expireAt"] = Now.AddDays(30), ["status"] = FailureStatus.Open,
        });

        await _store.MaintainAsync(default);

        var llm = (await _store.GroupsAsync(FailureStatus.Open, default))[0];
        Assert.Equal((4L, 3L, at), (llm.Count, llm.UsersAffected, llm.LastSeen));
        Assert.Equal(Now.AddDays(30), (await _store.GetAsync("legacy", default))!.RetainUntil);
    }

    [Fact]
    public async Task StatusChanges_MoveCountsUsersAndEdges()
    {
        Assert.Equal(1, await _store.ArchiveAsync(["c"], default)); // u1's latest: u1 keeps "a"
        Assert.True(await _store.ClaimForReplayAsync("b", default)); // u2's only one
        Assert.False(await _store.ClaimForReplayAsync("b", default));

        var open = (await _store.GroupsAsync(FailureStatus.Open, default)).Single(g => g.Group == RejectionReasons.LlmUnavailable);
        Assert.Equal((1L, 1L, Now.AddHours(-1), Now.AddHours(-1)), (open.Count, open.UsersAffected, open.FirstSeen, open.LastSeen));
        var archived = (await _store.GroupsAsync(FailureStatus.Archived, default)).Single();
        Assert.Equal((2L, 2L, Now.AddHours(-2), Now.AddMinutes(-5)), (archived.Count, archived.UsersAffected, archived.FirstSeen, archived.LastSeen));
        Assert.Equal(1, (await _store.GroupsAsync(FailureStatus.Replayed, default)).Single().Count);

        await _store.ReopenAsync("b", default);
        Assert.Equal(2, await _store.PurgeAsync(["a", "e"], default));

        open = (await _store.GroupsAsync(FailureStatus.Open, default)).Single(g => g.Group == RejectionReasons.LlmUnavailable);
        Assert.Equal((1L, 1L, Now.AddHours(-3)), (open.Count, open.UsersAffected, open.FirstSeen));
        Assert.Empty(await _store.GroupsAsync(FailureStatus.Replayed, default));
        Assert.DoesNotContain(await _store.GroupsAsync(FailureStatus.Open, default), g => g.Group.Contains("IOException", StringComparison.Ordinal));
        Assert.Null(await _store.GetAsync("a", default));
        Assert.Equal(3, (await _store.PerHourAsync(Now, 24, null, default)).Sum(h => h.Count)); // b, c (archived), f (archived)
        Assert.Equal(1, (await _store.PerHourAsync(Now, 24, FailureStatus.Open, default)).Sum(h => h.Count));
    }

    [Fact]
    public async Task Maintain_PurgesWhatRetentionEnded_CountersIncluded()
    {
        _time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromMinutes(150)); // d (30 h ago) and b (3 h ago) are past 30 days; e (2 h) is not

        var (expired, _) = await _store.MaintainAsync(default);

        Assert.Equal(2, expired);
        var groups = await _store.GroupsAsync(FailureStatus.Open, default);
        Assert.Equal((2L, 1L), (groups.Single(g => g.Group == RejectionReasons.LlmUnavailable).Count, groups.Single(g => g.Group == RejectionReasons.LlmUnavailable).UsersAffected));
        Assert.DoesNotContain(groups, g => g.Group.Contains("TimeoutException", StringComparison.Ordinal));
    }

    private static FailureDocument Copy(string id, string reason, string user, DateTime at) => new()
    {
        Id = id, DeadLetterId = id, Reason = reason, Group = reason, UserId = user, FailedAt = at, FirstFailedAt = at, IngestedAt = at,
        RetainUntil = at.AddDays(30), ExpireAt = at.AddDays(31), KeyId = $"key-{user}", VideoId = $"video-{id}",
    };
}
