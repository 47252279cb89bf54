using Microsoft.Extensions.Options;
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
    private FailureStore _store = null!;

    public async Task InitializeAsync()
    {
        var database = new VocabDatabase(_client, Options.Create(new MongoOptions { Database = _database }));
        await new FailureIndexes().CreateIndexesAsync(database, default);
        _store = new FailureStore(database, TimeProvider.System);
        Failure("a", RejectionReasons.LlmUnavailable, "u1", Now.AddHours(-1));
        Failure("b", RejectionReasons.LlmUnavailable, "u2", Now.AddHours(-3));
        Failure("c", RejectionReasons.LlmUnavailable, "u1", Now.AddMinutes(-5));
        Failure("d", RejectionReasons.InternalError, "u3", Now.AddHours(-30), "System.TimeoutException");
        Failure("e", RejectionReasons.InternalError, "u3", Now.AddHours(-2), "System.IO.IOException");
        Failure("f", RejectionReasons.LlmUnavailable, "u9", Now.AddHours(-2), status: FailureStatus.Archived);
        await _store.Collection.InsertManyAsync(_pending);
    }

    public async Task DisposeAsync() => await MongoCleanup.DropDatabaseAsync(_client, _database);

    private readonly List<FailureDocument> _pending = [];

    private void Failure(string id, string reason, string user, DateTime at, string? fault = null, string status = FailureStatus.Open) =>
        _pending.Add(new FailureDocument
        {
            Id = id, DeadLetterId = id, Reason = reason, Group = reason == RejectionReasons.InternalError ? $"{reason}: {fault}" : reason,
            UserId = user, FailedAt = at, FirstFailedAt = at, IngestedAt = at, ExpireAt = at.AddDays(30), FaultType = fault, Status = status,
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
}
