using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Driver;
using Vocab.Plans;
using Vocab.Storage;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests;

/// <summary>
/// Settlements, stores and reuse lookups in flight at once share MongoDB commands (a group commit) on the real store,
/// and every request's figures stay what one command each would have made them: counted once, each charged its own.
/// </summary>
public sealed class GroupedWritesTests : IAsyncLifetime
{
    private const int Concurrent = 40;

    private static readonly RateWindow Rate = new(1_000, TimeSpan.FromMinutes(1));
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private readonly CountingMongoClient _counting = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
    private VocabDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = new VocabDatabase(_counting.Client, Options.Create(new MongoOptions { Database = _database }));
        await new VocabularyIndexes().CreateIndexesAsync(_db, default);
    }

    public async Task DisposeAsync() => await MongoCleanup.DropDatabaseAsync(_counting.Client, _database);

    private int Sent(string command) => _counting.Sent(command);

    [Fact]
    public async Task SettleAsync_ManyOfOneUserAtOnce_FewerUpdatesAndEachChargedItsOwn()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var user = $"u-{Guid.NewGuid():N}";
        var admitted = await AdmitManyAsync(ledger, user);

        var before = Sent("update usage_months");
        // Half settled to what their calls used (i tokens), half given back (a failure) charging nothing.
        await Task.WhenAll(admitted.Select((r, i) => i % 2 == 0 ? ledger.SettleAsync(r, 100 + i, default) : ledger.ReleaseAsync(r, default)));
        var updates = Sent("update usage_months") - before;

        var usage = await ledger.GetAsync(user, "2026-11", default);
        var charged = Enumerable.Range(0, Concurrent).Where(i => i % 2 == 0).Sum(i => 100L + i);
        Assert.Empty(usage.Open);
        Assert.Equal(0, usage.ReservedTokens);
        Assert.Equal(charged, usage.UsedTokens);
        Assert.Equal(charged, usage.CommittedTokens);
        Assert.Equal(Concurrent, usage.Requests);
        Assert.InRange(updates, 1, Concurrent / 2);
    }

    [Fact]
    public async Task AdmitAsync_ManyOfOneUserAtOnce_FewerUpdatesAndEachReservedOnce()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var user = $"u-{Guid.NewGuid():N}";
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 1_000, MonthlyTokens = 10_000_000 });
        // This instance knows the month from here on: what follows is the common form.
        await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 1_000, default, Rate);

        var before = Sent("update usage_months");
        var decisions = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(i =>
            ledger.AdmitAsync(Guid.NewGuid(), user, plan, 100 + i, default, Rate)));
        var updates = Sent("update usage_months") - before;

        Assert.All(decisions, d => Assert.True(d.Admitted));
        var usage = await ledger.GetAsync(user, "2026-11", default);
        var reserved = 1_000 + Enumerable.Range(0, Concurrent).Sum(i => 100L + i);
        Assert.Equal(Concurrent + 1, usage.Requests);
        Assert.Equal(Concurrent + 1, usage.Open.Count);
        Assert.Equal(reserved, usage.ReservedTokens);
        Assert.Equal(reserved, usage.CommittedTokens);
        Assert.Equal(Concurrent + 1, usage.RateWindow!.Count);
        foreach (var decision in decisions)
            Assert.Equal(decision.Reservation!.Tokens, usage.Open[decision.Reservation.RequestId.ToString("D")].Tokens);
        Assert.InRange(updates, 1, Concurrent / 2);
    }

    /// <summary>Near each limit a shared update cannot hold everyone: exactly the limit is admitted, as one by one.</summary>
    [Theory]
    [InlineData(25L, null, null)]
    [InlineData(null, 25_500L, null)]
    [InlineData(null, null, 25)]
    public async Task AdmitAsync_ManyAtOnceNearALimit_AdmitsExactlyTheLimit(long? monthlyRequests, long? monthlyTokens, int? perWindow)
    {
        var ledger = new QuotaLedger(_db, _clock);
        var user = $"u-{Guid.NewGuid():N}";
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = monthlyRequests, MonthlyTokens = monthlyTokens });
        var rate = perWindow is { } limit ? new RateWindow(limit, TimeSpan.FromMinutes(1)) : null;
        await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 1_000, default, rate);

        var decisions = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(_ => ledger.AdmitAsync(Guid.NewGuid(), user, plan, 1_000, default, rate)));

        var usage = await ledger.GetAsync(user, "2026-11", default);
        Assert.Equal(24, decisions.Count(d => d.Admitted));
        Assert.Equal(25, usage.Requests);
        Assert.Equal(25, usage.Open.Count);
        Assert.Equal(25_000, usage.CommittedTokens);
        if (rate is not null)
            Assert.Equal(25, usage.RateWindow!.Count);
    }

    /// <summary>
    /// A shared update exactly at a limit (the month has room for all: one update admits them) and one over it (it cannot
    /// hold them all, so each goes alone, and one is refused).
    /// </summary>
    [Theory]
    [InlineData(Concurrent + 1, Concurrent)]
    [InlineData(Concurrent, Concurrent - 1)]
    public async Task AdmitAsync_ManyAtOnceAtTheLimitOrOneOver_AdmitsWhatFits(long monthlyRequests, int admittedOfThem)
    {
        var ledger = new QuotaLedger(_db, _clock);
        var user = $"u-{Guid.NewGuid():N}";
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = monthlyRequests });
        await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 1_000, default);

        var before = Sent("update usage_months");
        var decisions = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(_ => ledger.AdmitAsync(Guid.NewGuid(), user, plan, 1_000, default)));
        var updates = Sent("update usage_months") - before;

        Assert.Equal(admittedOfThem, decisions.Count(d => d.Admitted));
        Assert.Equal(monthlyRequests, (await ledger.GetAsync(user, "2026-11", default)).Requests);
        if (admittedOfThem == Concurrent)
            Assert.InRange(updates, 2, Concurrent / 2);
    }

    /// <summary>
    /// A copy of a counted request among new ones: still open (a redelivery during its call), or settled and recent (a
    /// crash before its answer was stored). The shared update cannot hold it, so each goes alone, and it is counted once.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AdmitAsync_ACopyOfACountedRequestAmongThem_CountedOnce(bool settledBefore)
    {
        var ledger = new QuotaLedger(_db, _clock);
        var user = $"u-{Guid.NewGuid():N}";
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 1_000 });
        var copy = Guid.NewGuid();
        var first = await ledger.AdmitAsync(copy, user, plan, 700, default);
        if (settledBefore)
            await ledger.SettleAsync(first.Reservation!, 300, default);

        var ids = Enumerable.Range(0, Concurrent).Select(i => i == 20 ? copy : Guid.NewGuid()).ToList();
        var decisions = await Task.WhenAll(ids.Select(id => ledger.AdmitAsync(id, user, plan, 1_000, default)));

        var usage = await ledger.GetAsync(user, "2026-11", default);
        Assert.All(decisions, d => Assert.True(d.Admitted));
        Assert.Equal(settledBefore ? 1_000 : 700, decisions[20].Reservation!.Tokens);
        Assert.Equal(Concurrent, usage.Requests);
        Assert.Equal(Concurrent, usage.Open.Count);
        Assert.Equal(settledBefore ? 300 + 1_000L * Concurrent : 700 + 1_000L * (Concurrent - 1), usage.CommittedTokens);
    }

    /// <summary>
    /// One reservation of the group was ended by another holder (a worker that stalled past its lease and gave it back):
    /// the group's one update cannot hold it open, so each goes on its own, and that call is still charged.
    /// </summary>
    [Fact]
    public async Task SettleAsync_OneOfTheGroupEndedElsewhere_EachStillChargedOnce()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var elsewhere = new QuotaLedger(_db, _clock);
        var user = $"u-{Guid.NewGuid():N}";
        var admitted = await AdmitManyAsync(ledger, user);
        await elsewhere.ReleaseAsync(admitted[7], default);

        await Task.WhenAll(admitted.Select(r => ledger.SettleAsync(r, 10, default)));

        var usage = await ledger.GetAsync(user, "2026-11", default);
        Assert.Empty(usage.Open);
        Assert.Equal(0, usage.ReservedTokens);
        Assert.Equal(10L * Concurrent, usage.UsedTokens);
        Assert.Equal(10L * Concurrent, usage.CommittedTokens);
    }

    [Fact]
    public async Task InsertOrGetAsync_ManyAtOnceSomeStoredAlready_FewerInsertsAndTheStoredOneWins()
    {
        var store = new VocabularyStore(_db);
        var documents = Enumerable.Range(0, Concurrent).Select(i => Document($"key-{i}", $"from-this-{i}")).ToList();
        // A redelivery stored these two first, with its own answer.
        foreach (var i in new[] { 3, 30 })
            await store.InsertOrGetAsync(Document($"key-{i}", $"from-the-redelivery-{i}", documents[i].RequestId), default);

        var before = Sent("insert vocabularies");
        var stored = await Task.WhenAll(documents.Select(d => store.InsertOrGetAsync(d, default)));
        var inserts = Sent("insert vocabularies") - before;

        for (var i = 0; i < Concurrent; i++)
        {
            Assert.Equal(documents[i].RequestId, stored[i].RequestId);
            Assert.Equal(i is 3 or 30 ? $"from-the-redelivery-{i}" : $"from-this-{i}", stored[i].VideoId);
            Assert.Equal(stored[i].VideoId, (await store.FindByRequestIdAsync(Guid.Parse(stored[i].RequestId), default))!.VideoId);
            // Its own answer, even when the grouped insert wrote it and the retry alone read it back: it owes the settlement.
            Assert.Equal(i is not (3 or 30), ReferenceEquals(stored[i], documents[i]) || documents[i].Charge!.IsSameDelivery(stored[i].Charge));
        }
        // At least one grouped insert, then each of its documents on its own after the duplicate.
        Assert.InRange(inserts, 2, 2 * Concurrent);
        Assert.Equal(Concurrent, (int)await _db.Collection<VocabularyDocument>(VocabularyStore.CollectionName).CountDocumentsAsync(FilterDefinition<VocabularyDocument>.Empty));
    }

    /// <summary>
    /// An answer written though its insert failed (a grouped insert that failed half way, on a server that writes the rest;
    /// a lost reply) is read back by the retry as another copy: it still names the delivery that stored it, so that
    /// delivery knows it owes the settlement, and another delivery's answer is told apart.
    /// </summary>
    [Fact]
    public async Task InsertOrGetAsync_ItsOwnAnswerWrittenAlready_ReadBack_IsKnownAsItsOwn()
    {
        var store = new VocabularyStore(_db);
        var collection = _db.Collection<VocabularyDocument>(VocabularyStore.CollectionName);
        var mine = Document("key-mine", "mine");
        await collection.InsertOneAsync(Document("key-mine", "mine", mine.RequestId));
        var lost = Document("key-lost", "mine-too");
        await collection.InsertOneAsync(Document("key-lost", "another", lost.RequestId));

        var readBack = await store.InsertOrGetAsync(mine, default);
        var theirs = await store.InsertOrGetAsync(lost, default);

        Assert.NotSame(mine, readBack);
        Assert.True(mine.Charge!.IsSameDelivery(readBack.Charge));
        Assert.Equal("another", theirs.VideoId);
        Assert.False(lost.Charge!.IsSameDelivery(theirs.Charge));
    }

    [Fact]
    public async Task InsertOrGetAsync_ManyNewAtOnce_SharesInserts()
    {
        var store = new VocabularyStore(_db);
        var documents = Enumerable.Range(0, Concurrent).Select(i => Document($"key-{i}", $"v-{i}")).ToList();

        var before = Sent("insert vocabularies");
        await Task.WhenAll(documents.Select(d => store.InsertOrGetAsync(d, default)));

        Assert.InRange(Sent("insert vocabularies") - before, 1, Concurrent / 2);
        foreach (var document in documents)
            Assert.Equal(document.VideoId, (await store.FindByRequestIdAsync(Guid.Parse(document.RequestId), default))!.VideoId);
    }

    [Fact]
    public async Task FindByReuseKeyAsync_ManyAtOnce_SharesQueriesAndFindsTheFirstAnswerOnly()
    {
        var store = new VocabularyStore(_db);
        for (var i = 0; i < Concurrent; i += 2)
        {
            await store.InsertOrGetAsync(Document($"key-{i}", $"original-{i}"), default);
            await store.InsertOrGetAsync(Document($"key-{i}", $"copy-{i}", reused: true), default);
        }
        // A question answered only by a copy (its original gone) is not reused: it is asked again.
        await store.InsertOrGetAsync(Document("key-copy-only", "copy-only", reused: true), default);

        var before = Sent("find vocabularies");
        var keys = Enumerable.Range(0, Concurrent).Select(i => $"key-{i}").Append("key-copy-only").ToList();
        var found = await Task.WhenAll(keys.Select(k => store.FindByReuseKeyAsync(k, default)));

        Assert.InRange(Sent("find vocabularies") - before, 1, Concurrent / 2);
        for (var i = 0; i < Concurrent; i++)
            Assert.Equal(i % 2 == 0 ? $"original-{i}" : null, found[i]?.VideoId);
        Assert.Null(found[^1]);
    }

    [Fact]
    public async Task FindByRequestIdAsync_ManyAtOnce_SharesQueriesAndFindsEachItsOwn()
    {
        var store = new VocabularyStore(_db);
        var stored = new List<VocabularyDocument>();
        for (var i = 0; i < Concurrent; i += 2)
            stored.Add(await store.InsertOrGetAsync(Document($"key-{i}", $"v-{i}"), default));
        var asked = Enumerable.Range(0, Concurrent).Select(i => i % 2 == 0 ? Guid.Parse(stored[i / 2].RequestId) : Guid.NewGuid()).ToList();

        var before = Sent("find vocabularies");
        var found = await Task.WhenAll(asked.Select(id => store.FindByRequestIdAsync(id, default)));

        Assert.InRange(Sent("find vocabularies") - before, 1, Concurrent / 2);
        for (var i = 0; i < Concurrent; i++)
            Assert.Equal(i % 2 == 0 ? $"v-{i}" : null, found[i]?.VideoId);
    }

    /// <summary>Admits <see cref="Concurrent"/> requests of the user, one after the other, 1,000 tokens each.</summary>
    private static async Task<List<QuotaReservation>> AdmitManyAsync(QuotaLedger ledger, string user)
    {
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 1_000, MonthlyTokens = 10_000_000 });
        var admitted = new List<QuotaReservation>();
        for (var i = 0; i < Concurrent; i++)
            admitted.Add((await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 1_000, default)).Reservation!);
        return admitted;
    }

    private static VocabularyDocument Document(string reuseKey, string videoId, string? requestId = null, bool reused = false) => new()
    {
        RequestId = requestId ?? Guid.NewGuid().ToString("D"),
        UserId = "u",
        VideoId = videoId,
        SourceLanguage = "en",
        TargetLanguage = "ko",
        Model = "m",
        ReuseKey = reuseKey,
        Reused = reused,
        CreatedAt = new DateTime(2026, 11, 2, 12, 0, 0, DateTimeKind.Utc),
        Charge = new StoredCharge { UsageId = "u|2026-11", ReservedTokens = 100, ChargedTokens = 7, StoredBy = $"{videoId}.delivery" },
    };
}
