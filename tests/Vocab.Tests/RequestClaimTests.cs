using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Driver;
using Vocab.Plans;
using Vocab.Storage;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests;

/// <summary>
/// A requestId's claim lives where it is looked up, at no extra write: beside the reservation while in flight (the
/// admission's one update), on the stored answer once served, on a failure record once failed. Real MongoDB, a fake clock.
/// </summary>
public sealed class RequestClaimTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly Plan Plan = new("p", new PlanOptions { MonthlyRequests = 100, MonthlyTokens = 1_000_000 });

    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private readonly MongoClient _client = new(ServiceAddresses.Mongo);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
    private readonly string _user = $"u-{Guid.NewGuid():N}";
    private VocabDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = new VocabDatabase(_client, Options.Create(new MongoOptions { Database = _database }));
        await new VocabularyIndexes().CreateIndexesAsync(_db, default);
    }

    public async Task DisposeAsync() => await MongoCleanup.DropDatabaseAsync(_client, _database);

    private async Task<UsageDocument> UsageAsync() =>
        await _db.Collection<UsageDocument>(QuotaLedger.UsageCollection).Find(u => u.Id == $"{_user}|2026-11").SingleAsync();

    [Fact]
    public async Task AdmitAsync_TheSameIdInFlight_IsNotReservedAgain_ButReturnedWithItsFingerprintAndLease()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var id = Guid.NewGuid();
        var first = await ledger.AdmitAsync(id, _user, Plan, 100, default, claim: new RequestClaimTerms("fp-1", "A", Lease));

        var second = await ledger.AdmitAsync(id, _user, Plan, 100, default, claim: new RequestClaimTerms("fp-2", "B", Lease));

        Assert.True(first.Admitted);
        Assert.False(second.Admitted);
        Assert.NotNull(second.InFlight);
        Assert.Equal("fp-1", second.InFlight.Fingerprint);
        Assert.Equal("A", second.InFlight.Owner);
        Assert.Equal((_clock.GetUtcNow() + Lease).UtcDateTime, second.InFlight.LeaseUntil);
        Assert.Equal(first.Reservation, second.InFlight.Reservation);
        var usage = await UsageAsync();
        Assert.Equal(1, usage.Requests);
        Assert.Equal(100, usage.ReservedTokens);
    }

    [Fact]
    public async Task TryLeaseAsync_HeldUntilItRunsOut_ThenTakenOver_AndGoneWithTheReservation()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var reservation = (await ledger.AdmitAsync(Guid.NewGuid(), _user, Plan, 100, default, claim: new RequestClaimTerms("fp", "A", Lease))).Reservation!;

        Assert.False(await ledger.TryLeaseAsync(reservation, "B", Lease, default));
        Assert.True(await ledger.TryLeaseAsync(reservation, "A", Lease, default));
        _clock.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.True(await ledger.TryLeaseAsync(reservation, "B", Lease, default));
        Assert.False(await ledger.TryLeaseAsync(reservation, "A", Lease, default));

        await ledger.SettleAsync(reservation, 70, default);
        Assert.False(await ledger.TryLeaseAsync(reservation, "B", Lease, default));
        Assert.Empty((await UsageAsync()).Open);
    }

    /// <summary>
    /// A delivery that lost its lease (stalled past it) and then fails cannot give back the reservation the delivery that
    /// took over now produces under: that would free the id for a third delivery's paid call. Its spent tokens are still
    /// charged, and the new holder's settlement ends the reservation.
    /// </summary>
    [Fact]
    public async Task ReleaseAsync_ByADeliveryThatLostItsLease_ChargesItsCall_ButLeavesTheReservationToItsHolder()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var admitted = (await ledger.AdmitAsync(Guid.NewGuid(), _user, Plan, 100, default, claim: new RequestClaimTerms("fp", "A", Lease))).Reservation!;
        var heldByA = admitted with { Owner = "A" };
        _clock.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.True(await ledger.TryLeaseAsync(admitted, "B", Lease, default));

        await ledger.ReleaseAsync(heldByA, default, spentTokens: 5);
        var afterA = await UsageAsync();
        Assert.Equal("B", afterA.Open[admitted.RequestId.ToString("D")].Owner);
        Assert.Equal(5, afterA.UsedTokens);

        await ledger.SettleAsync(admitted with { Owner = "B" }, 70, default);
        var usage = await UsageAsync();
        Assert.Empty(usage.Open);
        Assert.Equal(75, usage.UsedTokens);
        Assert.Equal(0, usage.ReservedTokens);
        Assert.Equal(75, usage.CommittedTokens);
    }

    [Fact]
    public async Task FindForRequestAsync_OneQuery_FindsTheIdsAnswerOrFailureRecord_AndOnlyAFirstAnswerForReuse()
    {
        var store = new VocabularyStore(_db);
        var answered = Guid.NewGuid();
        var failed = Guid.NewGuid();
        await store.InsertOrGetAsync(Answer(answered, _user, "fp-a", reuseKey: "question"), default);
        await store.InsertOrGetAsync(Answer(Guid.NewGuid(), _user, "fp-c", reuseKey: "question", reused: true), default);
        await store.RecordFailureAsync(failed, _user, "fp-f", "2026-11", _clock.GetUtcNow().UtcDateTime, TimeSpan.FromDays(400), default);

        var forAnswer = await store.FindForRequestAsync(answered, "question", default);
        var forFailure = await store.FindForRequestAsync(failed, "other question", default);
        var fresh = await store.FindForRequestAsync(Guid.NewGuid(), "question", default);

        Assert.True(forAnswer.ForRequest!.IsAnswer);
        Assert.Equal(answered.ToString("D"), forAnswer.Reusable!.RequestId);
        Assert.False(forFailure.ForRequest!.IsAnswer);
        Assert.Equal("2026-11", forFailure.ForRequest.FailedInMonth);
        Assert.Equal("fp-f", forFailure.ForRequest.Fingerprint);
        Assert.Null(forFailure.Reusable);
        Assert.Null(fresh.ForRequest);
        Assert.Equal(answered.ToString("D"), fresh.Reusable!.RequestId);
        // A failure record is not a stored answer to a copy waiting for one.
        Assert.Null(await store.FindByRequestIdAsync(failed, default));
    }

    /// <summary>
    /// A failure record gives way to its own caller's answer, never to another caller's: an id collision cannot take over
    /// someone else's request (whose resend would then be refused as reused).
    /// </summary>
    [Fact]
    public async Task InsertOrGetAsync_ReplacesTheCallersOwnFailureRecord_NotAnotherCallers()
    {
        var store = new VocabularyStore(_db);
        var id = Guid.NewGuid();
        await store.RecordFailureAsync(id, _user, "fp", "2026-11", _clock.GetUtcNow().UtcDateTime, TimeSpan.FromDays(400), default);

        var intruder = Answer(id, "someone-else", "fp-x");
        var kept = await store.InsertOrGetAsync(intruder, default);
        Assert.NotSame(intruder, kept);
        Assert.Equal(_user, kept.UserId);
        Assert.False(kept.IsAnswer);

        var own = Answer(id, _user, "fp");
        Assert.Same(own, await store.InsertOrGetAsync(own, default));
        var stored = await store.FindByRequestIdAsync(id, default);
        Assert.True(stored!.IsAnswer);
        Assert.Null(stored.ExpiresAt);
    }

    private VocabularyDocument Answer(Guid id, string userId, string fingerprint, string? reuseKey = null, bool reused = false) => new()
    {
        RequestId = id.ToString("D"),
        UserId = userId,
        Fingerprint = fingerprint,
        VideoId = "v",
        SourceLanguage = "en",
        TargetLanguage = "ko",
        Model = "m",
        ReuseKey = reuseKey,
        Reused = reused,
        Items = [new VocabularyItemDocument { Word = "a", Meaning = "b" }],
        CreatedAt = _clock.GetUtcNow().UtcDateTime,
    };
}
