using Microsoft.Extensions.Time.Testing;
using Vocab.Worker.FairShare;

namespace Vocab.Tests.FairShare;

/// <summary>The scheduler on its own: who gets a free LLM slot, how many messages a user may hold, and that its state stays bounded.</summary>
public sealed class FairShareSchedulerTests
{
    private const long Tokens = 300;
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task AloneUser_TakesEverySlot_NobodyWaitsWhileASlotIsFree()
    {
        var scheduler = Scheduler(slots: 4);
        var turns = new List<LlmTurn>();
        for (var i = 0; i < 4; i++)
        {
            var entering = scheduler.EnterAsync(new ShareKey("burst", 1), Tokens, CancellationToken.None);
            Assert.True(entering.IsCompleted, $"call {i + 1} of 4 waited with a slot free");
            turns.Add(await entering);
        }
        Assert.False(scheduler.EnterAsync(new ShareKey("burst", 1), Tokens, CancellationToken.None).IsCompleted);
    }

    [Fact]
    public async Task Newcomer_GetsTheNextFreeSlot_AheadOfTheBurstsWaitingCalls()
    {
        var scheduler = Scheduler(slots: 2);
        var burst = new ShareKey("burst", 1);
        var running = new Queue<LlmTurn>([await scheduler.EnterAsync(burst, Tokens, default), await scheduler.EnterAsync(burst, Tokens, default)]);
        var burstWaiting = Enumerable.Range(0, 5).Select(_ => scheduler.EnterAsync(burst, Tokens, default)).ToList();
        var light = scheduler.EnterAsync(new ShareKey("light", 1), Tokens, default);

        running.Dequeue().Dispose();

        Assert.True(light.IsCompleted, "the light user's call got the slot that freed");
        Assert.All(burstWaiting, w => Assert.False(w.IsCompleted));
    }

    [Fact]
    public async Task TwoBackloggedUsers_WeightsThreeAndOne_AreServedThreeToOne()
    {
        var scheduler = Scheduler(slots: 1);
        var premium = new ShareKey("premium", 3);
        var free = new ShareKey("free", 1);
        var first = await scheduler.EnterAsync(free, Tokens, default);
        var waiting = new List<(string User, Task<LlmTurn> Turn)>();
        for (var i = 0; i < 60; i++)
        {
            waiting.Add(("premium", scheduler.EnterAsync(premium, Tokens, default)));
            waiting.Add(("free", scheduler.EnterAsync(free, Tokens, default)));
        }

        var served = new List<string>();
        var current = first;
        for (var i = 0; i < 40; i++)
        {
            current.Dispose();
            var next = waiting.Single(w => w.Turn.IsCompletedSuccessfully && !served.Contains(Id(w)));
            served.Add(Id(next));
            current = await next.Turn;
        }

        var premiumCalls = served.Count(s => s.StartsWith("premium", StringComparison.Ordinal));
        Assert.InRange(premiumCalls, 29, 31); // 3:1 of 40 is 30
        string Id((string User, Task<LlmTurn> Turn) w) => $"{w.User}#{waiting.IndexOf(w)}";
    }

    [Fact]
    public async Task TurnsHeldWaitingForAnotherDelivery_AreChargedAsCalls_SoCopiesCannotTakeEveryFreeTurn()
    {
        var scheduler = Scheduler(slots: 1);
        var copier = new ShareKey("copier", 1);
        var other = new ShareKey("other", 1);
        var current = await scheduler.EnterAsync(other, Tokens, default);
        var waiting = new List<(string User, Task<LlmTurn> Turn)>();
        for (var i = 0; i < 30; i++)
        {
            // The copier's are copies of its own request in flight elsewhere: each waits for that answer, calling nothing.
            waiting.Add(("copier", scheduler.EnterAsync(copier, Tokens, default)));
            waiting.Add(("other", scheduler.EnterAsync(other, Tokens, default)));
        }

        var servedUser = "other";
        var copierTurns = 0;
        for (var i = 0; i < 20; i++)
        {
            if (servedUser == "copier")
            {
                // As the admission and fair-share filters do: held as a call, then the filter's "nothing was spent".
                current.SettleAsHeld();
                current.Settle(0);
            }
            else
                current.Settle(Tokens);
            current.Dispose();
            var next = waiting.First(w => w.Turn.IsCompletedSuccessfully);
            waiting.Remove(next);
            servedUser = next.User;
            copierTurns += servedUser == "copier" ? 1 : 0;
            current = await next.Turn;
        }

        Assert.InRange(copierTurns, 9, 11); // an equal share of 20, not all of them
    }

    [Fact]
    public async Task SettledTokens_CountInPlaceOfTheEstimate()
    {
        var scheduler = Scheduler(slots: 2);
        var big = new ShareKey("big", 1);
        var small = new ShareKey("small", 1);
        var bigRunning = await scheduler.EnterAsync(big, Tokens, default);
        var smallRunning = await scheduler.EnterAsync(small, Tokens, default);
        var bigNext = scheduler.EnterAsync(big, Tokens, default);
        var smallNext = scheduler.EnterAsync(small, Tokens, default);

        // Charged alike at the estimate; big's call used ten times as much. With the estimates alone the slot big frees
        // would go back to big (a tie, and big then has no call in flight).
        bigRunning.Settle(Tokens * 10);
        smallRunning.Settle(Tokens);
        bigRunning.Dispose();

        Assert.True(smallNext.IsCompleted, "small, served fewer tokens, has the freed slot");
        Assert.False(bigNext.IsCompleted);
    }

    [Fact]
    public async Task TurnsThatNeverCall_AreChargedTheirTimeInTheSlot_SoTheyCannotTakeEveryFreeSlot()
    {
        // One slot. "resender" sends copies of an answered request: each holds the slot 100 ms and calls nothing. "caller"'s
        // calls take 200 ms and use 300 tokens. Refunded in full, the resender's counter would never grow and it would win
        // every slot while it had copies waiting (the caller got none of the 20 turns that way).
        var scheduler = Scheduler(slots: 1);
        var resender = new ShareKey("resender", 1);
        var caller = new ShareKey("caller", 1);
        // The caller alone first, so the scheduler has timed its calls (a call's time is a moving average over about 20).
        await CallAloneAsync(scheduler, caller, times: 60);
        var running = await scheduler.EnterAsync(caller, Tokens, default);
        var waiting = new List<(ShareKey Who, Task<LlmTurn> Turn)>();
        for (var i = 0; i < 20; i++)
        {
            waiting.Add((resender, scheduler.EnterAsync(resender, Tokens, default)));
            waiting.Add((caller, scheduler.EnterAsync(caller, Tokens, default)));
        }
        var who = caller;
        var turns = new Dictionary<string, int> { ["resender"] = 0, ["caller"] = 0 };
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(who == caller ? 200 : 100));
            running.Settle(who == caller ? Tokens : 0, called: who == caller);
            running.Dispose();
            var next = waiting.Single(w => w.Turn.IsCompleted);
            waiting.Remove(next);
            (who, running) = (next.Who, await next.Turn);
            turns[who.UserId]++;
        }

        // Charged for their slot time, the resender's turns cost half a call each: it gets about two turns to the caller's one.
        Assert.InRange(turns["caller"], 5, 9);
        Assert.InRange(turns["resender"], 11, 15);
    }

    [Fact]
    public async Task ATurnHeldLongWaitingForAnotherDelivery_IsChargedItsSlotTime_NotOneCall()
    {
        // One slot; calls take 200 ms. A copy of a request held the slot 2 s waiting for another delivery's answer: ten
        // calls' time. Charged one call, copies waiting 10 s each would hold slots fifty times longer than they pay for.
        var scheduler = Scheduler(slots: 1);
        var caller = new ShareKey("caller", 1);
        var copier = new ShareKey("copier", 1);
        await CallAloneAsync(scheduler, caller, times: 60);
        var held = await scheduler.EnterAsync(copier, Tokens, default);
        var callerWaiting = Enumerable.Range(0, 12).Select(_ => scheduler.EnterAsync(caller, Tokens, default)).ToList();
        var copierNext = scheduler.EnterAsync(copier, Tokens, default);
        _time.Advance(TimeSpan.FromSeconds(2));
        held.SettleAsHeld();
        held.Dispose();

        var callerTurns = 0;
        foreach (var waiting in callerWaiting)
        {
            if (copierNext.IsCompleted)
                break;
            var turn = await waiting;
            callerTurns++;
            _time.Advance(TimeSpan.FromMilliseconds(200));
            turn.Settle(Tokens, called: true);
            turn.Dispose();
        }

        Assert.InRange(callerTurns, 6, 12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AUserJoiningTheLineAgain_StartsAtTheLowestCounter_SoATrickleOfCopiesBanksNoCredit(bool copiesOverlap)
    {
        // One slot. For a minute "victim" is backlogged and served 5 calls a second, while "trickler" sends one copy of an
        // answered request a second (its turn given back at once, no call). Before 2026-12-02 its counter stayed where it
        // was a minute earlier, and once both were backlogged the trickler took all of the next 20 turns: first while
        // its state outlived each copy; then, after a lift for users holding nothing, with copies that overlap (one
        // still replying when the next arrives), so that it never held nothing.
        var scheduler = Scheduler(slots: 1);
        var victim = new ShareKey("victim", 1);
        var trickler = new ShareKey("trickler", 1);
        using var victimHolds = scheduler.TryHold(victim);
        var previous = copiesOverlap ? scheduler.TryHold(trickler) : null;
        for (var second = 0; second < 60; second++)
        {
            await CallAloneAsync(scheduler, victim, times: 5);
            var copy = scheduler.TryHold(trickler);
            using (var turn = new MessageTurn(await scheduler.EnterAsync(trickler, Tokens, default), ct => scheduler.EnterAsync(trickler, Tokens, ct)))
                turn.GiveBack(0, called: false);
            (copiesOverlap ? previous : copy)?.Dispose();
            previous = copiesOverlap ? copy : null;
        }

        var running = await scheduler.EnterAsync(victim, Tokens, default);
        var waiting = new List<(ShareKey Who, Task<LlmTurn> Turn)>();
        for (var i = 0; i < 20; i++)
        {
            waiting.Add((trickler, scheduler.EnterAsync(trickler, Tokens, default)));
            waiting.Add((victim, scheduler.EnterAsync(victim, Tokens, default)));
        }
        Assert.InRange(await TurnsOfAsync(running, waiting, trickler, turns: 20), 8, 12);
        previous?.Dispose();
    }

    [Fact]
    public async Task AUserForgottenAheadOfTheOthers_ComesBackWhereItWouldBeHadItStayed_SoOneRequestAtATimeEscapesNoCharge()
    {
        // One slot; "victim" is backlogged with calls of 300 tokens. "heavy" sends one request at a time, each a call of
        // 8,000 tokens taking 5 s; between them it holds nothing and is forgotten. Before 2026-12-02 it came back at the
        // lowest counter each time and won the next turn: about 96 % of the slot's time for a 50 % share.
        var scheduler = Scheduler(slots: 1);
        var victim = new ShareKey("victim", 1);
        var heavy = new ShareKey("heavy", 1);
        using var victimHolds = scheduler.TryHold(victim);
        await CallAloneAsync(scheduler, victim, times: 20);
        var running = await scheduler.EnterAsync(victim, Tokens, default);
        var victimWaiting = new Queue<Task<LlmTurn>>(Enumerable.Range(0, 200).Select(_ => scheduler.EnterAsync(victim, Tokens, default)));

        var victimTurnsBefore = new List<int>();
        for (var request = 0; request < 3; request++)
        {
            using var hold = scheduler.TryHold(heavy);
            var heavyTurn = scheduler.EnterAsync(heavy, Tokens, default);
            victimTurnsBefore.Add(await VictimTurnsBeforeAsync(running, victimWaiting, heavyTurn));
            var call = await heavyTurn;
            _time.Advance(TimeSpan.FromSeconds(5));
            call.Settle(8_000, called: true);
            call.Dispose();
            running = await victimWaiting.Dequeue();
        }

        // The first request is a newcomer's, served next; each later one waits while the victim is served about the
        // 8,000 tokens it is ahead (26 calls of 300).
        Assert.InRange(victimTurnsBefore[0], 0, 1);
        Assert.All(victimTurnsBefore.Skip(1), turns => Assert.InRange(turns, 20, 30));

        // Away while the victim was served more than that (40 calls, 12,000 tokens): back where it would be had it stayed,
        // lifted to the victim's counter and served next, not another 26 calls later.
        for (var i = 0; i < 40; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            running.Settle(Tokens, called: true);
            running.Dispose();
            running = await victimWaiting.Dequeue();
        }
        using var back = scheduler.TryHold(heavy);
        var backTurn = scheduler.EnterAsync(heavy, Tokens, default);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        running.Settle(Tokens, called: true);
        running.Dispose();
        Assert.True(backTurn.IsCompleted, "back after the victim caught up, heavy has the next turn");
    }

    [Fact]
    public async Task AUserAloneThatLeaves_IsWhereTheNextOneStarts_NotAheadOfIt()
    {
        // One slot. "heavy" alone sends ten requests one at a time (8,000 tokens each), forgotten between them; then
        // "victim" arrives with a backlog, then heavy again. Heavy was the last to leave, so the victim starts level with
        // it: heavy is served next, not after the victim's next 267 calls (as when its solo use was remembered as a debt).
        var scheduler = Scheduler(slots: 1);
        var heavy = new ShareKey("heavy", 1);
        var victim = new ShareKey("victim", 1);
        for (var request = 0; request < 10; request++)
        {
            using var hold = scheduler.TryHold(heavy);
            var call = await scheduler.EnterAsync(heavy, Tokens, default);
            _time.Advance(TimeSpan.FromSeconds(5));
            call.Settle(8_000, called: true);
            call.Dispose();
        }
        _time.Advance(TimeSpan.FromSeconds(5));
        using var victimHolds = scheduler.TryHold(victim);
        var running = await scheduler.EnterAsync(victim, Tokens, default);
        var victimWaiting = new Queue<Task<LlmTurn>>(Enumerable.Range(0, 60).Select(_ => scheduler.EnterAsync(victim, Tokens, default)));

        using var heavyHolds = scheduler.TryHold(heavy);
        var heavyTurn = scheduler.EnterAsync(heavy, Tokens, default);

        Assert.InRange(await VictimTurnsBeforeAsync(running, victimWaiting, heavyTurn), 0, 2);
    }

    [Fact]
    public async Task AWeightChangeWhileATurnRuns_IsSettledAtTheWeightItWasChargedAt()
    {
        // One slot. "switcher" holds a premium token (weight 3) and a free one (weight 1), and changes between a turn's
        // start and its settlement. Taken back at the new weight, its running charges went negative (-200 a call) and it
        // was never lifted when joining the line again, banking the others' service as in the trickle above.
        var scheduler = Scheduler(slots: 1);
        var victim = new ShareKey("victim", 1);
        var asPremium = new ShareKey("switcher", 3);
        var asFree = new ShareKey("switcher", 1);
        using var victimHolds = scheduler.TryHold(victim);
        using var switcherHolds = scheduler.TryHold(asFree);
        for (var second = 0; second < 60; second++)
        {
            await CallAloneAsync(scheduler, victim, times: 5);
            var turn = await scheduler.EnterAsync(asPremium, Tokens, default);
            scheduler.TryHold(asFree)!.Dispose();
            turn.Settle(0);
            turn.Dispose();
        }

        var running = await scheduler.EnterAsync(victim, Tokens, default);
        var waiting = new List<(string Who, Task<LlmTurn> Turn)>();
        for (var i = 0; i < 20; i++)
        {
            waiting.Add(("switcher", scheduler.EnterAsync(asFree, Tokens, default)));
            waiting.Add(("victim", scheduler.EnterAsync(victim, Tokens, default)));
        }
        Assert.InRange(await TurnsOfAsync(running, waiting, "switcher", turns: 20), 8, 12);
    }

    [Fact]
    public async Task ANewcomer_StartsLevelWithThoseInLine_NotWithAUserOnlyInALongCall()
    {
        // Two slots. "victim" is backlogged; "holder" joins and keeps its turn 10 s (a copy waiting for another
        // delivery) while the victim is served 50 calls on the other slot; then "newcomer" arrives with a backlog. The
        // holder's counter stood still during its call: a newcomer starting there took the next 20 turns.
        var scheduler = Scheduler(slots: 2);
        var victim = new ShareKey("victim", 1);
        var holder = new ShareKey("holder", 1);
        var newcomer = new ShareKey("newcomer", 1);
        using var victimHolds = scheduler.TryHold(victim);
        await CallAloneAsync(scheduler, victim, times: 20);
        var first = await scheduler.EnterAsync(victim, Tokens, default);
        var running = await scheduler.EnterAsync(victim, Tokens, default);
        var victimWaiting = new Queue<Task<LlmTurn>>(Enumerable.Range(0, 200).Select(_ => scheduler.EnterAsync(victim, Tokens, default)));
        using var holderHolds = scheduler.TryHold(holder);
        var holding = scheduler.EnterAsync(holder, Tokens, default);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        first.Settle(Tokens, called: true);
        first.Dispose();
        using var held = await holding;
        for (var i = 0; i < 50; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            running.Settle(Tokens, called: true);
            running.Dispose();
            running = await victimWaiting.Dequeue();
        }

        using var newcomerHolds = scheduler.TryHold(newcomer);
        var newcomerWaiting = new Queue<Task<LlmTurn>>(Enumerable.Range(0, 40).Select(_ => scheduler.EnterAsync(newcomer, Tokens, default)));
        var newcomerTurns = 0;
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            running.Settle(Tokens, called: true);
            running.Dispose();
            var fromNewcomer = newcomerWaiting.Peek().IsCompleted;
            running = await (fromNewcomer ? newcomerWaiting : victimWaiting).Dequeue();
            newcomerTurns += fromNewcomer ? 1 : 0;
        }

        Assert.InRange(newcomerTurns, 8, 12);
    }

    [Fact]
    public async Task AUserFarAhead_IsRememberedUntilTheOthersCatchUp_NotForAMinuteOnly()
    {
        // One slot. "heavy" makes one call of 100,000 tokens, then is away 61 s while "victim" is served 305 calls of 300
        // (91,500 tokens): back, it is still 8,000 ahead and waits about 27 calls. Remembered for 60 s only, it was
        // served next.
        var scheduler = Scheduler(slots: 1);
        var victim = new ShareKey("victim", 1);
        var heavy = new ShareKey("heavy", 1);
        using var victimHolds = scheduler.TryHold(victim);
        await CallAloneAsync(scheduler, victim, times: 20);
        var running = await scheduler.EnterAsync(victim, Tokens, default);
        var victimWaiting = new Queue<Task<LlmTurn>>(Enumerable.Range(0, 400).Select(_ => scheduler.EnterAsync(victim, Tokens, default)));
        using (scheduler.TryHold(heavy))
        {
            var heavyTurn = scheduler.EnterAsync(heavy, Tokens, default);
            _time.Advance(TimeSpan.FromMilliseconds(200));
            running.Settle(Tokens, called: true);
            running.Dispose();
            using var call = await heavyTurn;
            _time.Advance(TimeSpan.FromSeconds(10));
            call.Settle(100_000, called: true);
        }
        running = await victimWaiting.Dequeue();
        for (var i = 0; i < 305; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            running.Settle(Tokens, called: true);
            running.Dispose();
            running = await victimWaiting.Dequeue();
        }

        using var back = scheduler.TryHold(heavy);
        var backTurn = scheduler.EnterAsync(heavy, Tokens, default);

        Assert.InRange(await VictimTurnsBeforeAsync(running, victimWaiting, backTurn), 20, 32);
    }

    [Fact]
    public async Task AWaitingTurn_IsChargedAtTheWeightOfItsOwnMessage()
    {
        // One slot. "switcher" queues 20 calls under a free token (weight 1), then presents a premium one (weight 3) for
        // another message: its queued calls are the free token's, charged at weight 1, and share 1:1 with "victim" rather
        // than 3:1 (as when each grant took the user's latest weight).
        var scheduler = Scheduler(slots: 1);
        var victim = new ShareKey("victim", 1);
        var asFree = new ShareKey("switcher", 1);
        var asPremium = new ShareKey("switcher", 3);
        using var victimHolds = scheduler.TryHold(victim);
        using var switcherHolds = scheduler.TryHold(asFree);
        var running = await scheduler.EnterAsync(victim, Tokens, default);
        var waiting = new List<(string Who, Task<LlmTurn> Turn)>();
        for (var i = 0; i < 20; i++)
        {
            waiting.Add(("switcher", scheduler.EnterAsync(asFree, Tokens, default)));
            waiting.Add(("victim", scheduler.EnterAsync(victim, Tokens, default)));
        }
        using var premiumHolds = scheduler.TryHold(asPremium);

        Assert.InRange(await TurnsOfAsync(running, waiting, "switcher", turns: 20), 8, 12);
    }

    [Fact]
    public void Holds_UsersWithAFewMessagesParkedEach_ReserveWhatTheyUsedLately_NotTheirWholeShare()
    {
        // 512 consumer slots, 4 reserved, 16 turns. 63 relayed identities each held a message, then had 120 parked (their
        // returns refused cheaply): entitled to their whole share while parked, they would pin a backlogged user to 8.
        var scheduler = Scheduler(slots: 16, consumerSlots: 512, reserved: 4);
        for (var i = 0; i < 63; i++)
        {
            var relayed = new ShareKey($"relayed-{i}", 1);
            using var hold = scheduler.TryHold(relayed);
            for (var parked = 0; parked < 120; parked++)
                scheduler.ParkUntil(relayed, due: null);
        }

        // Holding nothing, they are entitled to room for their next messages only, at most one per LLM turn between them.
        Assert.Equal(508 - 16, HoldAll(scheduler, new ShareKey("backlogged", 1)));
    }

    [Fact]
    public void Holds_ManyUsersWithAMessageParkedAndRecentArrivals_KeepNoMoreRoomThanTheLlmTurns()
    {
        // 512 consumer slots, 4 reserved, 16 turns. 127 relayed identities each had 4 messages pass through in a moment
        // (copies of an answered request) and one parked. Each counted for its recent arrivals up to its share (3.97 of
        // 508 among 128), they left a backlogged user 3 messages while 13 of 16 turns sat free.
        var scheduler = Scheduler(slots: 16, consumerSlots: 512, reserved: 4);
        for (var i = 0; i < 127; i++)
        {
            var relayed = new ShareKey($"relay-{i}", 1);
            for (var copy = 0; copy < 4; copy++)
                scheduler.TryHold(relayed)!.Dispose();
            scheduler.ParkUntil(relayed, due: null);
        }

        // They hold nothing: the room kept for their next messages is at most one per LLM turn.
        Assert.Equal(508 - 16, HoldAll(scheduler, new ShareKey("backlogged", 1)));
    }

    private static int HoldAll(FairShareScheduler scheduler, ShareKey who)
    {
        var held = 0;
        while (held < 1000 && scheduler.TryHold(who) is not null)
            held++;
        return held;
    }

    [Fact]
    public void Holds_UsersPassingThrough_KeepNoMoreRoomThanTheLlmTurns_SoABackloggedUserStillFillsThem()
    {
        // 512 consumer slots, 4 reserved, 16 LLM turns. 600 users held one message each for a moment (copies, refusals):
        // before 2026-12-02 each kept room for its next, and a backlogged user could then hold 1 message, 15 turns idle.
        var scheduler = Scheduler(slots: 16, consumerSlots: 512, reserved: 4);
        for (var i = 0; i < 600; i++)
            scheduler.TryHold(new ShareKey($"passing-{i}", 1))!.Dispose();
        var backlogged = new ShareKey("backlogged", 1);
        var holds = new List<FairShareHold>();
        while (holds.Count < 600 && scheduler.TryHold(backlogged) is { } hold)
            holds.Add(hold);

        // The shared 508, less room for the passing users' next messages: as many as there are turns.
        Assert.Equal(508 - 16, holds.Count);
    }

    [Fact]
    public void Holds_AloneUserMayHoldEverySharedSlot_UnderContentionItsShare()
    {
        // Eight consumer slots, two kept for newcomers: six shared.
        var scheduler = Scheduler(slots: 4, consumerSlots: 8, reserved: 2);
        var burst = new ShareKey("burst", 1);
        var holds = Enumerable.Range(0, 6).Select(_ => scheduler.TryHold(burst)).ToList();
        Assert.All(holds, Assert.NotNull);
        Assert.Null(scheduler.TryHold(burst));

        // Two light users hold one each: the burst may hold the six less what they are entitled to and use (1 + 1).
        Assert.NotNull(scheduler.TryHold(new ShareKey("light-1", 1)));
        Assert.NotNull(scheduler.TryHold(new ShareKey("light-2", 1)));
        holds[0]!.Dispose();
        holds[1]!.Dispose();
        holds[2]!.Dispose();
        Assert.NotNull(scheduler.TryHold(burst)); // 4 held, bound 6 - 2 = 4 reached
        Assert.Null(scheduler.TryHold(burst));
    }

    [Fact]
    public void Holds_WeightedShares_BoundEachUser()
    {
        // Twelve consumer slots, four kept for newcomers: eight shared, six of them premium's and two free's under contention.
        var scheduler = Scheduler(slots: 4, consumerSlots: 12, reserved: 4);
        var premium = new ShareKey("premium", 3);
        var free = new ShareKey("free", 1);
        var premiumHolds = HoldAll(premium);
        Assert.Equal(8, premiumHolds.Count); // alone: every shared slot

        // Under contention free may take what premium is not entitled to (8 - 6)...
        Assert.Equal(2, HoldAll(free).Count);
        // ...and premium, once below its share, its 6 of 8 (less nothing: free holds no more than its share).
        premiumHolds.Take(3).ToList().ForEach(h => h.Dispose());
        Assert.Single(HoldAll(premium));

        List<FairShareHold> HoldAll(ShareKey who)
        {
            var holds = new List<FairShareHold>();
            while (holds.Count < 100 && scheduler.TryHold(who) is { } hold)
                holds.Add(hold);
            return holds;
        }
    }

    [Theory]
    [InlineData(64, 4, 16, 60)]
    [InlineData(16, 4, 16, 16)] // no room to reserve: a lone user must still fill the LLM slots
    [InlineData(18, 4, 16, 16)]
    public void Capacity_KeepsTheReserve_OnlyWhileTheRestCoversTheLlmSlots(int consumer, int reserved, int llm, int expected) =>
        Assert.Equal(expected, FairShareScheduler.CapacityFor(consumer, reserved, llm));

    [Fact]
    public async Task CancelledWaiter_LeavesTheLine_AndTheSlotGoesToTheNext()
    {
        var scheduler = Scheduler(slots: 1);
        var running = await scheduler.EnterAsync(new ShareKey("a", 1), Tokens, default);
        using var cancel = new CancellationTokenSource();
        var gaveUp = scheduler.EnterAsync(new ShareKey("b", 1), Tokens, cancel.Token);
        var next = scheduler.EnterAsync(new ShareKey("c", 1), Tokens, default);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);
        running.Dispose();

        Assert.True(next.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task State_IsForgottenOnceNothingIsHeldWaitingOrInFlight()
    {
        var scheduler = Scheduler(slots: 2);
        for (var i = 0; i < 500; i++)
        {
            var who = new ShareKey($"user-{i}", 1);
            using var hold = scheduler.TryHold(who);
            using var turn = await scheduler.EnterAsync(who, Tokens, default);
        }
        // Each is still remembered for its recent demand, a few seconds.
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, scheduler.TrackedUsers);
    }

    [Fact]
    public async Task Disabled_ServesFirstInFirstOut_AndNeverParks()
    {
        var scheduler = Scheduler(slots: 1, enabled: false);
        var running = await scheduler.EnterAsync(new ShareKey("burst", 1), Tokens, default);
        var burstNext = scheduler.EnterAsync(new ShareKey("burst", 1), Tokens, default);
        var light = scheduler.EnterAsync(new ShareKey("light", 1), Tokens, default);

        running.Dispose();

        Assert.True(burstNext.IsCompleted);
        Assert.False(light.IsCompleted);
        Assert.All(Enumerable.Range(0, 50), _ => Assert.NotNull(scheduler.TryHold(new ShareKey("burst", 1))));
    }

    [Fact]
    public async Task ParkUntil_SpacesAUsersParkedMessagesAtItsPace_KeepsADueTimeStillAhead_AndSendsAnOverdueOneToTheBack()
    {
        var scheduler = Scheduler(slots: 2);
        var burst = new ShareKey("burst", 1);
        using var hold = scheduler.TryHold(burst);
        using var a = await scheduler.EnterAsync(burst, Tokens, default);
        using var b = await scheduler.EnterAsync(burst, Tokens, default);
        var now = _time.GetUtcNow();

        var first = scheduler.ParkUntil(burst, due: null);
        var second = scheduler.ParkUntil(burst, due: null);
        var kept = scheduler.ParkUntil(burst, due: now + TimeSpan.FromSeconds(30));
        var overdue = scheduler.ParkUntil(burst, due: now - TimeSpan.FromSeconds(5));

        // Two calls in flight at the initial 500 ms a call: one every 250 ms.
        Assert.Equal(now + TimeSpan.FromMilliseconds(250), first);
        Assert.Equal(now + TimeSpan.FromMilliseconds(500), second);
        Assert.Equal(now + TimeSpan.FromSeconds(30), kept);
        // Back later than due: behind the two parked since, not at the next step again.
        Assert.Equal(now + TimeSpan.FromMilliseconds(750), overdue);
    }

    // Calls of 200 ms using Tokens, one after the other: the scheduler learns a call's time and tokens from them.
    // One slot, calls of 200 ms and 300 tokens: serves the next `turns` turns, the first from `running` ending, and says
    // how many went to `who`.
    private async Task<int> TurnsOfAsync<TWho>(LlmTurn running, List<(TWho Who, Task<LlmTurn> Turn)> waiting, TWho who, int turns)
    {
        var theirs = 0;
        for (var i = 0; i < turns; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            running.Settle(Tokens, called: true);
            running.Dispose();
            var next = waiting.Single(w => w.Turn.IsCompleted);
            waiting.Remove(next);
            running = await next.Turn;
            theirs += EqualityComparer<TWho>.Default.Equals(next.Who, who) ? 1 : 0;
        }
        return theirs;
    }

    // One slot, calls of 200 ms and 300 tokens: ends the victim's `running` call and serves its queued ones until the slot
    // that frees goes to `other`; says how many of the victim's went first.
    private async Task<int> VictimTurnsBeforeAsync(LlmTurn running, Queue<Task<LlmTurn>> victimWaiting, Task<LlmTurn> other)
    {
        var victimTurns = 0;
        while (true)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            running.Settle(Tokens, called: true);
            running.Dispose();
            if (other.IsCompleted || victimWaiting.Count == 0)
                return victimTurns;
            running = await victimWaiting.Dequeue();
            victimTurns++;
        }
    }

    private async Task CallAloneAsync(FairShareScheduler scheduler, ShareKey who, int times)
    {
        for (var i = 0; i < times; i++)
        {
            var alone = await scheduler.EnterAsync(who, Tokens, default);
            _time.Advance(TimeSpan.FromMilliseconds(200));
            alone.Settle(Tokens, called: true);
            alone.Dispose();
        }
    }

    private FairShareScheduler Scheduler(int slots, int consumerSlots = 32, int reserved = 4, bool enabled = true) =>
        TestSchedulers.Create(_time, slots, consumerSlots, reserved, enabled);
}
