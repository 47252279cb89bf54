using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Driver;
using Vocab.Plans;
using Vocab.Storage;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;
using Vocab.Worker.Settlement;

namespace Vocab.Tests;

/// <summary>
/// A served request's settlement is owed, not sent: the user's next admission carries it in its one update, the flusher
/// sends what waited, a stopping worker sends all, and what a dead worker owed is settled once from the charge its stored
/// answer carries. Every figure stays what settling at once would have made it. Real MongoDB, a fake clock.
/// </summary>
public sealed class DeferredSettlementTests : IAsyncLifetime
{
    private static readonly RateWindow Rate = new(1_000, TimeSpan.FromMinutes(1));

    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private readonly CountingMongoClient _counting = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
    private readonly string _user = $"u-{Guid.NewGuid():N}";
    private VocabDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = new VocabDatabase(_counting.Client, Options.Create(new MongoOptions { Database = _database }));
        await new VocabularyIndexes().CreateIndexesAsync(_db, default);
    }

    public async Task DisposeAsync() => await MongoCleanup.DropDatabaseAsync(_counting.Client, _database);

    private int Sent(string command) => _counting.Sent(command);

    private static Plan PlanOf(long? monthlyTokens = 10_000_000) => new("p", new PlanOptions { MonthlyRequests = 1_000, MonthlyTokens = monthlyTokens });

    private async Task<QuotaReservation> AdmitAsync(QuotaLedger ledger, long estimate = 100, Plan? plan = null)
    {
        var decision = await ledger.AdmitAsync(Guid.NewGuid(), _user, plan ?? PlanOf(), estimate, default, Rate);
        Assert.True(decision.Admitted);
        return decision.Reservation!;
    }

    private async Task<UsageDocument> UsageAsync() =>
        await _db.Collection<UsageDocument>(QuotaLedger.UsageCollection).Find(u => u.Id == $"{_user}|2026-11").SingleAsync();

    [Fact]
    public async Task SettleLater_TheUsersNextAdmission_CarriesItInItsOneUpdate()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var served = await AdmitAsync(ledger, estimate: 100);
        ledger.SettleLater(served, 7);
        Assert.Contains(served.RequestId.ToString("D"), (await UsageAsync()).Open.Keys);

        var before = Sent("update usage_months");
        var next = await AdmitAsync(ledger, estimate: 50);

        Assert.Equal(1, Sent("update usage_months") - before);
        Assert.Equal(0, ledger.DeferredCount);
        var usage = await UsageAsync();
        Assert.Equal([next.RequestId.ToString("D")], usage.Open.Keys);
        Assert.Equal(2, usage.Requests);
        Assert.Equal(7, usage.UsedTokens);
        Assert.Equal(50, usage.ReservedTokens);
        Assert.Equal(57, usage.CommittedTokens);
    }

    /// <summary>
    /// The month has room for the next request only once the owed one is settled to its actual tokens: the one update
    /// that does both admits it, as settling first would have.
    /// </summary>
    [Fact]
    public async Task SettleLater_RoomOnlyAfterItsSettlement_TheNextIsAdmittedInOneUpdate()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var plan = PlanOf(monthlyTokens: 100);
        var served = await AdmitAsync(ledger, estimate: 60, plan);
        ledger.SettleLater(served, 10);

        var before = Sent("update usage_months");
        await AdmitAsync(ledger, estimate: 60, plan);

        Assert.Equal(1, Sent("update usage_months") - before);
        var usage = await UsageAsync();
        Assert.Equal(70, usage.CommittedTokens);
        // Full now: 70 + 60 is over 100.
        Assert.False((await ledger.AdmitAsync(Guid.NewGuid(), _user, plan, 60, default, Rate)).Admitted);
    }

    /// <summary>
    /// The month looks spent only because of tokens open reservations hold (in flight, or owed by another worker): that is
    /// the busy window's refusal (the bus tries again shortly), not <c>quota_exceeded</c>; once settled, the request fits.
    /// Spent by what was used, it is the month's refusal.
    /// </summary>
    [Fact]
    public async Task AdmitAsync_SpentOnlyByOpenReservations_IsTheBusyRefusal_AndAdmittedOnceTheySettle()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var plan = PlanOf(monthlyTokens: 100);
        var served = await AdmitAsync(ledger, estimate: 60, plan);

        var busy = await ledger.AdmitAsync(Guid.NewGuid(), _user, plan, 60, default, Rate);
        Assert.False(busy.Admitted);
        Assert.False(busy.Rate!.Allowed);

        await new QuotaLedger(_db, _clock).SettleAsync(served, 10, default);
        await AdmitAsync(ledger, estimate: 60, plan);

        var spent = await ledger.AdmitAsync(Guid.NewGuid(), _user, PlanOf(monthlyTokens: 100), 95, default, Rate);
        Assert.False(spent.Admitted);
        Assert.True(spent.Rate!.Allowed);
    }

    /// <summary>
    /// The owed reservation was ended by another holder (a worker that stalled past its lease and gave it back): the
    /// admission that carried it is refused by its guard, goes again without it, and the owed call is still charged.
    /// </summary>
    [Fact]
    public async Task SettleLater_EndedElsewhere_TheNextIsStillAdmitted_AndTheCallCharged()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var served = await AdmitAsync(ledger, estimate: 100);
        ledger.SettleLater(served, 7);
        await new QuotaLedger(_db, _clock).ReleaseAsync(served, default);

        var next = await AdmitAsync(ledger, estimate: 50);

        var usage = await UsageAsync();
        Assert.Equal([next.RequestId.ToString("D")], usage.Open.Keys);
        Assert.Equal(7, usage.UsedTokens);
        Assert.Equal(50, usage.ReservedTokens);
        Assert.Equal(57, usage.CommittedTokens);
    }

    [Fact]
    public async Task Flusher_SendsWhatWaitedLongerThanSettleWithin_AndEverythingWhenTheWorkerStops()
    {
        var ledger = new QuotaLedger(_db, _clock);
        var older = await AdmitAsync(ledger);
        ledger.SettleLater(older, 7);
        _clock.Advance(TimeSpan.FromSeconds(2));
        var younger = await AdmitAsync(ledger);
        ledger.SettleLater(younger, 9);

        await ledger.SettleDeferredAsync(_clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.Equal([younger.RequestId.ToString("D")], (await UsageAsync()).Open.Keys);

        var flusher = new DeferredSettlementFlusher(ledger, Options.Create(new SettlementOptions()), _clock, NullLogger<DeferredSettlementFlusher>.Instance);
        await flusher.StartAsync(default);
        await flusher.StopAsync(default);

        var usage = await UsageAsync();
        Assert.Empty(usage.Open);
        Assert.Equal(16, usage.UsedTokens);
        Assert.Equal(16, usage.CommittedTokens);
        Assert.Equal(0, usage.ReservedTokens);
    }

    /// <summary>
    /// A worker died owing a settlement: the sweep leaves it while the answer is young (its worker may still send it),
    /// then settles it once from the charge the stored answer carries; a request in flight (no stored answer) is left alone.
    /// </summary>
    [Fact]
    public async Task OrphanSweep_SettlesWhatADeadWorkerOwed_OnceAndOnlyFromItsStoredCharge()
    {
        var dead = new QuotaLedger(_db, _clock);
        var store = new VocabularyStore(_db);
        var served = await AdmitAsync(dead, estimate: 100);
        var inFlight = await AdmitAsync(dead, estimate: 40);
        await store.InsertOrGetAsync(Stored(served, chargedTokens: 7), default);
        dead.SettleLater(served, 7);
        var sweeper = SweeperOf(store);

        _clock.Advance(QuotaLedger.MaxOwedFor);
        Assert.Equal(0, await sweeper.SweepAsync(default));
        _clock.Advance(QuotaLedger.OrphanAge - QuotaLedger.MaxOwedFor + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await sweeper.SweepAsync(default));
        Assert.Equal(0, await sweeper.SweepAsync(default));
        // The dead worker's queue, were it still running, sends nothing this old: the sweep's alone.
        await dead.SettleDeferredAsync(DateTimeOffset.MaxValue);

        var usage = await UsageAsync();
        Assert.Equal(1, dead.ExpiredDeferredCount);
        Assert.Equal([inFlight.RequestId.ToString("D")], usage.Open.Keys);
        Assert.Equal(7, usage.UsedTokens);
        Assert.Equal(40, usage.ReservedTokens);
        Assert.Equal(47, usage.CommittedTokens);
    }

    /// <summary>
    /// A worker was only stuck: its settlement, taken in time, reaches MongoDB after the sweep charged the stored answer.
    /// Sent by the next admission (refused by the settlement's guard, then sent alone) or by the flusher, it charges nothing more.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OrphanSweep_ThenTheStuckWorkersSettlementArrives_TheAnswerIsChargedOnce(bool byNextAdmission)
    {
        var stuck = new QuotaLedger(_db, _clock);
        var store = new VocabularyStore(_db);
        var served = await AdmitAsync(stuck, estimate: 100);
        await store.InsertOrGetAsync(Stored(served, chargedTokens: 7), default);
        _clock.Advance(QuotaLedger.OrphanAge + TimeSpan.FromSeconds(1));
        // Owed as of now: sendable, as a settlement is while its send hangs behind a MongoDB command.
        stuck.SettleLater(served, 7);
        var sweeper = SweeperOf(store);
        Assert.Equal(1, await sweeper.SweepAsync(default));

        long nextReserved = 0;
        if (byNextAdmission)
            nextReserved = (await AdmitAsync(stuck, estimate: 50)).Tokens;
        else
            await stuck.SettleDeferredAsync(DateTimeOffset.MaxValue);

        var usage = await UsageAsync();
        Assert.Equal(0, stuck.DeferredCount);
        Assert.DoesNotContain(served.RequestId.ToString("D"), usage.Open.Keys);
        // The sweep's mark did its work and is gone.
        Assert.Empty(usage.ChargedApart);
        Assert.Equal(7, usage.UsedTokens);
        Assert.Equal(nextReserved, usage.ReservedTokens);
        Assert.Equal(7 + nextReserved, usage.CommittedTokens);
    }

    /// <summary>
    /// The other order: the worker that stored the answer finds its lease taken by another delivery, so it charges its call
    /// on its own; that delivery dies holding the reservation, and the sweep, finding the stored answer, ends it without
    /// charging the answer a second time.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task StoringWorkerChargedApart_ThenTheSweepEndsTheTakenOverReservation_TheAnswerIsChargedOnce(bool deferred)
    {
        var storing = new QuotaLedger(_db, _clock);
        var store = new VocabularyStore(_db);
        var lease = TimeSpan.FromSeconds(30);
        var decision = await storing.AdmitAsync(Guid.NewGuid(), _user, PlanOf(), 100, default, Rate, claim: new RequestClaimTerms("fp", "a.1", lease));
        var served = decision.Reservation! with { Owner = "a.1" };
        _clock.Advance(lease + TimeSpan.FromSeconds(1));
        Assert.True(await new QuotaLedger(_db, _clock).TryLeaseAsync(served, "b.1", lease, default));
        await store.InsertOrGetAsync(Stored(served, chargedTokens: 7), default);
        if (deferred)
        {
            storing.SettleLater(served, 7);
            await storing.SettleDeferredAsync(DateTimeOffset.MaxValue);
        }
        else
            // Its insert failed as far as it knows, though the answer was written: settled at once.
            await storing.SettleAsync(served, 7, default, answerMayBeStored: true);
        var charged = await UsageAsync();
        Assert.Equal(7, charged.UsedTokens);
        Assert.Contains(served.RequestId.ToString("D"), charged.Open.Keys);
        Assert.Equal(7, charged.ChargedApart[served.RequestId.ToString("D")]);

        _clock.Advance(QuotaLedger.OrphanAge + TimeSpan.FromSeconds(1));
        var sweeper = SweeperOf(store);
        Assert.Equal(1, await sweeper.SweepAsync(default));

        var usage = await UsageAsync();
        Assert.Empty(usage.Open);
        Assert.Equal(7, usage.UsedTokens);
        Assert.Equal(0, usage.ReservedTokens);
        Assert.Equal(7, usage.CommittedTokens);
        Assert.Empty(usage.ChargedApart);
    }

    // Another instance's sweep: a ledger of its own on the same database.
    private OrphanedSettlementSweeper SweeperOf(VocabularyStore store) =>
        new(new QuotaLedger(_db, _clock), store, Options.Create(new SettlementOptions()), _clock, NullLogger<OrphanedSettlementSweeper>.Instance);

    private VocabularyDocument Stored(QuotaReservation reservation, long chargedTokens) => new()
    {
        RequestId = reservation.RequestId.ToString("D"),
        UserId = _user,
        VideoId = "v",
        SourceLanguage = "en",
        TargetLanguage = "ko",
        Model = "m",
        CreatedAt = _clock.GetUtcNow().UtcDateTime,
        Charge = new StoredCharge { UsageId = reservation.UsageId, ReservedTokens = reservation.Tokens, ChargedTokens = chargedTokens },
    };
}
