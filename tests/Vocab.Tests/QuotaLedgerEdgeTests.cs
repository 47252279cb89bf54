using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Driver;
using Vocab.Plans;
using Vocab.Storage;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// Interleavings of the one-document ledger (QuotaLedger and RequestClaims) found by a hostile review: a charge lost on a
/// shared reservation, a request counted in two months, the rate window's growth, a counting carried across months.
/// </summary>
public sealed class QuotaLedgerEdgeTests : IAsyncLifetime
{
    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private readonly MongoClient _client = new(ServiceAddresses.Mongo);
    private VocabDatabase _db = null!;

    public Task InitializeAsync()
    {
        _db = new VocabDatabase(_client, Options.Create(new MongoOptions { Database = _database }));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await MongoCleanup.DropDatabaseAsync(_client, _database);

    /// <summary>
    /// Worker A holds the lease and the reservation; it stalls past its lease (GC pause, MongoDB unreachable from A while
    /// its renewals fail). B's admission finds A's reservation in flight, B takes its lease over and calls the LLM. A's
    /// own call then fails and A gives the reservation back. B's settlement finds no reservation: B's call is never charged.
    /// </summary>
    [Fact]
    public async Task LeaseTakenOver_SharedReservation_SecondCallIsCharged()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        var ledger = new QuotaLedger(_db, clock);
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 100, MonthlyTokens = 1_000_000 });
        var user = $"u-{Guid.NewGuid():N}";
        var id = Guid.NewGuid();
        var lease = TimeSpan.FromSeconds(30);

        var a = await ledger.AdmitAsync(id, user, plan, 100, default, claim: new RequestClaimTerms("fp", "A", lease));
        Assert.True(a.Admitted);
        clock.Advance(TimeSpan.FromSeconds(31));
        var b = await ledger.AdmitAsync(id, user, plan, 100, default, claim: new RequestClaimTerms("fp", "B", lease));
        Assert.NotNull(b.InFlight);
        Assert.Equal("A", b.InFlight.Owner);
        Assert.True(await ledger.TryLeaseAsync(b.InFlight.Reservation, "B", lease, default));
        Assert.False(await ledger.TryLeaseAsync(a.Reservation!, "A", lease, default));   // A's renewal: B holds it now

        await ledger.ReleaseAsync(a.Reservation!, default);     // A's call failed: outcome filter gives back
        await ledger.SettleAsync(b.InFlight.Reservation, 70, default);  // B's call used 70 tokens

        var usage = await ledger.GetAsync(user, "2026-11", default);
        Assert.Equal(70, usage.UsedTokens);
    }

    /// <summary>
    /// The bridge admits at 23:59:59.5 on the last day of the month; the worker admits the same request 1 s later, in
    /// the next month. Counted in both months, and the first month's reservation is never settled or given back.
    /// </summary>
    [Fact]
    public async Task BridgeThenWorker_AcrossMidnightOfTheMonth_CountedOnce_NoReservationLeft()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 23, 59, 59, 500, TimeSpan.Zero));
        var ledger = new QuotaLedger(_db, clock);
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 100 });
        var user = $"u-{Guid.NewGuid():N}";
        var id = Guid.NewGuid();

        var bridge = await ledger.AdmitAsync(id, user, plan, 100, default);
        clock.Advance(TimeSpan.FromSeconds(1));
        var worker = await ledger.AdmitAsync(id, user, plan, 100, default);
        await ledger.SettleAsync(worker.Reservation!, 80, default);

        Assert.True(bridge.Admitted);
        var november = await ledger.GetAsync(user, "2026-11", default);
        var december = await ledger.GetAsync(user, "2026-12", default);
        Assert.Equal(1, november.Requests + december.Requests);
        Assert.Empty(november.Open);
        Assert.Equal(0, november.ReservedTokens);
    }

    /// <summary>A user on a rated plan sending one request every 5 windows, then a burst in one window: one window kept, limited.</summary>
    [Fact]
    public async Task RateWindow_OfASparseCaller_StaysOne_AndABurstIsLimited()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        var ledger = new QuotaLedger(_db, clock);
        var plan = new Plan("p", new PlanOptions { RequestsPerMinute = 10, MonthlyRequests = 10_000 });
        var rate = new RateWindow(10, TimeSpan.FromMinutes(1));
        var user = $"u-{Guid.NewGuid():N}";

        for (var i = 0; i < 40; i++)
        {
            var d = await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 10, default, rate);
            Assert.True(d.Admitted);
            await ledger.SettleAsync(d.Reservation!, 10, default);
            clock.Advance(TimeSpan.FromMinutes(5));
        }
        // Another instance's ledger (no memory of the window) and this one, in the same window, at once.
        var other = new QuotaLedger(_db, clock);
        var burst = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? ledger : other).AdmitAsync(Guid.NewGuid(), user, plan, 10, default, rate)));

        var usage = await ledger.GetAsync(user, "2026-11", default);
        Assert.Equal(10, burst.Count(d => d.Admitted));
        Assert.All(burst.Where(d => !d.Admitted), d => Assert.False(d.Rate!.Allowed));
        Assert.Equal(10, usage.RateWindow!.Count);
        Assert.Equal(50, usage.Requests);
    }

    /// <summary>
    /// Another instance has already begun the next rate window (the window turned during this admission, or this
    /// instance's clock is a little behind): the request is counted in that window, never refused as quota_exceeded.
    /// </summary>
    [Fact]
    public async Task AWindowAnotherInstanceBegan_CountsThere_NotAQuotaRefusal()
    {
        var behind = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 1, 900, TimeSpan.Zero));
        var ahead = new FakeTimeProvider(behind.GetUtcNow() + TimeSpan.FromMilliseconds(200));
        var late = new QuotaLedger(_db, behind);
        var early = new QuotaLedger(_db, ahead);
        var plan = new Plan("p", new PlanOptions { RequestsPerMinute = 5 });
        var rate = new RateWindow(5, TimeSpan.FromSeconds(2));
        var user = $"u-{Guid.NewGuid():N}";

        Assert.True((await late.AdmitAsync(Guid.NewGuid(), user, plan, 10, default, rate)).Admitted);
        Assert.True((await early.AdmitAsync(Guid.NewGuid(), user, plan, 10, default, rate)).Admitted);
        var decision = await late.AdmitAsync(Guid.NewGuid(), user, plan, 10, default, rate);

        Assert.True(decision.Admitted);
        var usage = await late.GetAsync(user, "2026-11", default);
        Assert.Equal(3, usage.Requests);
        Assert.Equal(2, usage.RateWindow!.Count);
    }

    /// <summary>
    /// A request counted in November that failed is resent in December, when December's request quota is spent: refused
    /// (or counted), never admitted uncounted past December's limit.
    /// </summary>
    [Fact]
    public async Task FailedLastMonth_ResentWhenThisMonthIsSpent_IsRefusedOrCounted()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var ledger = new QuotaLedger(_db, clock);
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 1 });
        var user = $"u-{Guid.NewGuid():N}";
        var old = Guid.NewGuid();

        var first = await ledger.AdmitAsync(old, user, plan, 10, default);
        await ledger.ReleaseAsync(first.Reservation!, default); // failed; its claim now says counted in November
        clock.Advance(TimeSpan.FromDays(2));
        Assert.True((await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 10, default)).Admitted); // December's one request
        var resent = await ledger.AdmitAsync(old, user, plan, 10, default, countedInMonth: first.Reservation!.Month);

        var december = await ledger.GetAsync(user, "2026-12", default);
        Assert.True(!resent.Admitted || december.Requests == 2,
            $"admitted an LLM call in December past its limit of 1 without counting it (December requests: {december.Requests})");
    }

    /// <summary>
    /// A new user's first requests reach three worker instances at once: none has seen the month's document, so each
    /// admission is an upsert, and all but the first one's filter finds the rate window begun. Every admission said
    /// admitted is counted and reserved: the number admitted equals the month's requests and open reservations, under
    /// the plan's limit. (Found by the bus-and-bridge quota test: 63 answers for a limit of 50.)
    /// </summary>
    [Fact]
    public async Task FreshMonth_ConcurrentFirstAdmissionsOnThreeInstances_AdmitOnlyWhatIsCounted()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 20, MonthlyTokens = 1_000_000 });
        var rate = new RateWindow(1_000, TimeSpan.FromMinutes(1));
        for (var round = 0; round < 10; round++)
        {
            var user = $"u-{Guid.NewGuid():N}";
            var ledgers = Enumerable.Range(0, 3).Select(_ => new QuotaLedger(_db, clock)).ToArray();
            var decisions = await Task.WhenAll(Enumerable.Range(0, 150).Select(i =>
                Task.Run(() => ledgers[i % 3].AdmitAsync(Guid.NewGuid(), user, plan, 10, default, rate))));

            var usage = await ledgers[0].GetAsync(user, "2026-11", default);
            var admitted = decisions.Count(d => d.Admitted);
            Assert.Equal(usage.Requests, admitted);
            Assert.Equal(admitted * 10, usage.ReservedTokens);
            Assert.InRange(admitted, 1, 20);
        }
    }

    /// <summary>
    /// One instance spends a user's month; another, which has not seen that month's document yet, then admits requests
    /// of the same user concurrently: its first admissions are upserts whose filter fails (no requests left). None may
    /// be admitted.
    /// </summary>
    [Fact]
    public async Task SpentMonth_FirstAdmissionsOfAnotherInstance_AreRefused()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 5, MonthlyTokens = 1_000_000 });
        for (var round = 0; round < 5; round++)
        {
            var user = $"u-{Guid.NewGuid():N}";
            var spender = new QuotaLedger(_db, clock);
            for (var i = 0; i < 5; i++)
                Assert.True((await spender.AdmitAsync(Guid.NewGuid(), user, plan, 10, default)).Admitted);

            var late = new QuotaLedger(_db, clock);
            var decisions = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => late.AdmitAsync(Guid.NewGuid(), user, plan, 10, default))));

            Assert.DoesNotContain(decisions, d => d.Admitted);
            Assert.Equal(5, (await late.GetAsync(user, "2026-11", default)).Requests);
        }
    }

    /// <summary>As above on a plan without a rate (the admission's other form): 200 at once on three instances, 50 allowed.</summary>
    [Fact]
    public async Task FreshMonth_NoRate_ConcurrentAdmissionsOnThreeInstances_AdmitOnlyWhatIsCounted()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        var plan = new Plan("p", new PlanOptions { MonthlyRequests = 50 });
        for (var round = 0; round < 10; round++)
        {
            var user = $"u-{Guid.NewGuid():N}";
            var ledgers = Enumerable.Range(0, 3).Select(_ => new QuotaLedger(_db, clock)).ToArray();
            var decisions = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
                Task.Run(() => ledgers[i % 3].AdmitAsync(Guid.NewGuid(), user, plan, 10, default))));

            var usage = await ledgers[0].GetAsync(user, "2026-11", default);
            var admitted = decisions.Count(d => d.Admitted);
            Assert.Equal(usage.Requests, admitted);
            Assert.Equal(50, admitted);
        }
    }
}
