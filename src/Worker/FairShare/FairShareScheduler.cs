using Microsoft.Extensions.Options;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.FairShare;

/// <summary>
/// Shares this worker's LLM call slots (<c>Llm:MaxConcurrentCalls</c>) among the users whose messages it holds, after the
/// Virtual Token Counter (Sheng et al., "Fairness in Serving Large Language Models", OSDI 2024). Each user has a counter of
/// the tokens it was served divided by its plan weight; a free slot goes to the waiting user with the lowest counter (the
/// fewest calls in flight breaks a tie), and a user joining the line (new, or with no call waiting) is lifted to the
/// lowest counter of those in it, so time out of it earns no credit; one that left ahead of the others comes back where
/// it would be had it stayed. Nobody waits while a slot is free: the share binds only under contention.
/// <para>
/// It also bounds what a user may hold in the worker (<see cref="TryHold"/>): of the consumer slots
/// (<c>Worker:ConcurrentMessageLimit</c> less <see cref="FairShareOptions.ReservedSlots"/> for newcomers), those the
/// other users with messages here or parked are not entitled to (each to its weighted share, or to its recent demand if
/// less), less room for the next messages of users holding nothing now, at most one per LLM turn between them all. A
/// message over that bound is parked on a delay queue, so a burst leaves the shared input queue at once instead of
/// standing in front of everyone else's messages, while each user keeps enough messages at hand to use its share.
/// </para>
/// State exists only for users with messages held, waiting or in flight here (and the counter of a user that left ahead
/// of the others, until they catch up): bounded by the worker's concurrency and the turns it gives, and nothing to
/// recover when a worker dies (its held messages go back to the broker).
/// </summary>
public sealed class FairShareScheduler
{
    // How far back a user's arrivals count as its demand: about two returns of its parked messages.
    private static readonly TimeSpan DemandWindow = TimeSpan.FromSeconds(2);

    // A message parked again for the shortest step (1 s) when it came back less than that before its due time returns up
    // to a second after it: its user still has messages parked until then, and the broker's own delay.
    private static readonly TimeSpan ParkedGrace = TimeSpan.FromSeconds(2);

    // How long at most a user that left ahead of the others is remembered for it (until then, until the others catch up):
    // coming back, it starts where it would be had it stayed, so sending one request at a time (forgotten between them)
    // escapes no charge, however large each.
    private static readonly TimeSpan DebtMemory = TimeSpan.FromHours(1);

    // A backstop on the users remembered: each got ahead with turns of its own, so this is hours of a worker's turns.
    private const int MaxRemembered = 100_000;

    // Until calls were timed: a typical chat completion.
    private static readonly TimeSpan InitialCallTime = TimeSpan.FromMilliseconds(500);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, UserShare> _users = new(StringComparer.Ordinal);
    // Users forgotten while ahead of the others: their settled counter, and when (a timestamp). Coming back, such a user is
    // lifted to the lowest counter in line as if it had stayed (it starts at the higher of the two). Dropped once the
    // others have caught up, after DebtMemory, or beyond MaxRemembered.
    private readonly Dictionary<string, (double Counter, long At)> _remembered = new(StringComparer.Ordinal);
    // Where a user joining an empty line starts: the counter of the last user to leave the line (the Virtual Token
    // Counter's rule), or of the last user forgotten when nobody was in line.
    private double _lastLiftTarget;
    private readonly bool _enabled;
    private readonly int _capacity;
    private readonly int _turns;
    private readonly TimeProvider _time;
    private int _free;
    private int _waiting;
    private long _arrivals;
    private int _holdsSinceSweep;
    private double _callSeconds;
    private double _callTokens;

    public FairShareScheduler(IOptions<LlmOptions> llm, IOptions<MessagingOptions> messaging, IOptions<FairShareOptions> options, TimeProvider time)
    {
        _enabled = options.Value.Enabled;
        _free = _turns = llm.Value.MaxConcurrentCalls;
        _capacity = CapacityFor(messaging.Value.ConcurrentMessageLimit, options.Value.ReservedSlots, llm.Value.MaxConcurrentCalls);
        _time = time;
        _callSeconds = InitialCallTime.TotalSeconds;
    }

    /// <summary>
    /// The consumer slots users share: all but the reserved ones, unless that would leave a lone user fewer than the LLM
    /// slots (then no reserve: the worker could not be kept busy otherwise).
    /// </summary>
    public static int CapacityFor(int consumerSlots, int reservedSlots, int llmSlots) =>
        Math.Max(consumerSlots - reservedSlots, Math.Min(consumerSlots, llmSlots));

    /// <summary>Users with state here: those holding, waiting or running, with parked messages due back or a recent demand.</summary>
    public int TrackedUsers
    {
        get
        {
            lock (_lock)
            {
                Sweep();
                return _users.Count;
            }
        }
    }

    /// <summary>
    /// Takes one of the messages <paramref name="who"/> may hold here, or null when it holds its bound already (park the
    /// message). Dispose the hold when the message is done with.
    /// </summary>
    public FairShareHold? TryHold(ShareKey who)
    {
        lock (_lock)
        {
            if (++_holdsSinceSweep >= 256)
                Sweep();
            var user = Enter(who);
            var now = _time.GetTimestamp();
            user.Demand = DemandOf(user, now) + 1;
            user.DemandStamp = now;
            if (_enabled && user.Held >= BoundOf(user, now))
            {
                ForgetIfIdle(user);
                return null;
            }
            user.Held++;
            return new FairShareHold(this, user);
        }
    }

    /// <summary>
    /// When a message of <paramref name="who"/> parked now should come back: after the ones parked before it, at the pace
    /// the user can be served here (its turns, or the turns it is entitled to, whichever is more). A message parked before
    /// keeps its due time while that is ahead. One back after its due time, with its user still at its bound, was served
    /// slower than the pace foretold: it goes to the back of its user's line at today's pace, so a backlog is never
    /// cycled through the queue faster than its user is served (parked again at the next step, a 2,000-message backlog
    /// made about 200 parks a second on a slow machine).
    /// </summary>
    public DateTimeOffset ParkUntil(ShareKey who, DateTimeOffset? due)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            var user = Enter(who);
            var pace = TimeSpan.FromSeconds(_callSeconds / Math.Max(1, Math.Max(user.InFlight, EntitledTurns(user))));
            if (due is { } kept && kept > now)
                return kept;
            user.NextReturn = (user.NextReturn > now ? user.NextReturn : now) + pace;
            var until = user.NextReturn;
            ForgetIfIdle(user);
            return until;
        }
    }

    // The user's weighted share of the turns among the users with messages here or parked.
    private double EntitledTurns(UserShare user) => _turns * (double)user.Weight / WeightWith(user);

    // The weights of the user and of the others with messages here or parked (not of users only passing through: a
    // thousand of them, each holding a message for a moment, would otherwise shrink everyone's share to nothing).
    private long WeightWith(UserShare user)
    {
        var totalWeight = 0L;
        foreach (var other in _users.Values)
        {
            if (other == user || HasMessages(other))
                totalWeight += other.Weight;
        }
        return totalWeight;
    }

    /// <summary>
    /// Waits for a turn as <paramref name="who"/>, charged what calls have used lately (<paramref name="estimatedTokens"/>
    /// before any call settled) until the turn settles. The task completes the moment the turn is granted.
    /// </summary>
    public Task<LlmTurn> EnterAsync(ShareKey who, long estimatedTokens, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        UserShare user;
        lock (_lock)
        {
            user = Enter(who);
            if (_free > 0 && _waiting == 0)
                return Task.FromResult(Grant(user, who.Weight, estimatedTokens));
            waiter = new Waiter(estimatedTokens, who.Weight, _arrivals++);
            user.Waiters.AddLast(waiter);
            _waiting++;
        }
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() => Abandon(user, waiter, cancellationToken));
            waiter.Turn.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        return waiter.Turn.Task;
    }

    internal void Settle(UserShare user, int weight, long chargedTokens, long usedTokens, TimeSpan held, bool called, long atLeast)
    {
        lock (_lock)
        {
            // At the weight it was charged at: a user's weight can change meanwhile (a token of another plan).
            var actual = Math.Max(atLeast, usedTokens > 0 ? usedTokens : SlotTimeCharge(held, chargedTokens));
            user.Counter += (double)(actual - chargedTokens) / weight;
            user.Pending -= (double)chargedTokens / weight;
            // A moving average over about the last 20 calls that answered with their usage (not refusals, reused results,
            // waits for another delivery, nor the reservation bounds of calls that timed out).
            if (called && usedTokens > 0)
                _callTokens = _callTokens == 0 ? usedTokens : _callTokens + (usedTokens - _callTokens) / 20;
        }
    }

    // A turn that used no tokens (a refusal, an answer found stored, a wait for another delivery) is charged its time in
    // the slot as a part of a call, more than one call when it held the slot longer: free, a publisher could hold slots
    // with messages that never call (resends of an answered request) and, its counter never growing, win every slot that
    // frees while others wait.
    private long SlotTimeCharge(TimeSpan held, long chargedTokens)
    {
        if (held <= TimeSpan.Zero)
            return 0;
        var call = _callTokens > 0 ? _callTokens : chargedTokens;
        var calls = _callSeconds > 0 ? held.TotalSeconds / _callSeconds : 1;
        return (long)Math.Ceiling(call * Math.Min(calls, 1_000_000));
    }

    internal void Leave(UserShare user, TimeSpan took, bool called)
    {
        lock (_lock)
        {
            // Moving average over about the last 20 turns whose call answered: the parking pace follows the provider's speed.
            if (called)
                _callSeconds += (took.TotalSeconds - _callSeconds) / 20;
            user.InFlight--;
            _free++;
            Dispatch();
            ForgetIfIdle(user);
        }
    }

    internal void Release(UserShare user)
    {
        lock (_lock)
        {
            user.Held--;
            ForgetIfIdle(user);
        }
    }

    internal TimeProvider Time => _time;

    // The shared consumer slots the others are not entitled to. Each other user is entitled to what it holds, up to its
    // weighted share among the users with messages here or parked; beyond that, room for the messages it is likely to
    // bring next (its recent arrivals, up to its share: a light user between requests, a backlogged user whose messages
    // are parked or still queued), as many as there are LLM turns between them all. Counted each, that room let a crowd
    // of users passing through (copies of answered requests, refusals, one message parked each) leave a backlogged user
    // a handful of messages while turns sat free. Alone, a user may hold everything.
    private int BoundOf(UserShare user, long now)
    {
        var totalWeight = WeightWith(user);
        var othersHold = 0.0;
        var othersNext = 0.0;
        foreach (var other in _users.Values)
        {
            if (other == user)
                continue;
            var demand = DemandOf(other, now);
            var hasMessages = HasMessages(other);
            if (!hasMessages && demand < 0.5)
                continue;
            var share = hasMessages ? _capacity * (double)other.Weight / totalWeight : _capacity;
            var holds = Math.Min(other.Held, share);
            othersHold += holds;
            othersNext += Math.Min(Math.Max(other.Held, demand), share) - holds;
        }
        return Math.Max(1, (int)Math.Floor(_capacity - othersHold - Math.Min(othersNext, _turns) + 1e-9));
    }

    private bool HasMessages(UserShare user) => user.Held > 0 || HasParked(user);

    private bool HasParked(UserShare user) => user.NextReturn + ParkedGrace > _time.GetUtcNow();

    // Arrivals counted with exponential decay over the demand window.
    private double DemandOf(UserShare user, long now) =>
        user.Demand == 0 ? 0 : user.Demand * Math.Exp(-_time.GetElapsedTime(user.DemandStamp, now).TotalSeconds / DemandWindow.TotalSeconds);

    private UserShare Enter(ShareKey who)
    {
        if (!_users.TryGetValue(who.UserId, out var user))
        {
            var start = LiftTarget(except: null).Target;
            if (_remembered.Remove(who.UserId, out var left) && _time.GetElapsedTime(left.At) <= DebtMemory)
                start = Math.Max(start, left.Counter);
            user = new UserShare(who.UserId, who.Weight) { Counter = start };
            _users[who.UserId] = user;
        }
        else if (user.Waiters.Count == 0)
        {
            // Joining the line again (the Virtual Token Counter's rule): lifted to the lowest settled counter in line, so
            // time out of it (messages that call nothing, a pause) is no credit for a later burst. Charges still running stay on top.
            var settled = user.Counter - user.Pending;
            user.Counter = Math.Max(settled, LiftTarget(user).Target) + user.Pending;
        }
        user.Weight = who.Weight;
        return user;
    }

    // Where a user joining the line starts, or is lifted to: the lowest settled counter of the others in line (FromOthers;
    // settled: a charge still running may yet be corrected down, and a newcomer must not start above it), or, with
    // nobody in line, where the last one to leave it was. Only users in line count: the counter of one that is only in
    // a call stands still while the call runs (ten seconds or more), and newcomers starting there would be credited
    // with everything served meanwhile. Idle time earns no credit, and a newcomer is served next.
    private (double Target, bool FromOthers) LiftTarget(UserShare? except)
    {
        var lowest = double.MaxValue;
        foreach (var other in _users.Values)
        {
            if (other != except && other.Waiters.Count > 0 && other.Counter - other.Pending < lowest)
                lowest = other.Counter - other.Pending;
        }
        return lowest == double.MaxValue ? (_lastLiftTarget, false) : (lowest, true);
    }

    // Charged at the start what calls have used lately (the request's reservation is an upper bound, often several
    // times the truth, and would make a running call weigh more than its tokens), corrected when it settles.
    // At the weight of the message the turn is for (a user's weight changes with the token it presents).
    private LlmTurn Grant(UserShare user, int weight, long estimatedTokens)
    {
        _free--;
        user.InFlight++;
        var charge = _callTokens > 0 ? (long)Math.Ceiling(_callTokens) : estimatedTokens;
        user.Counter += (double)charge / weight;
        user.Pending += (double)charge / weight;
        if (user.Waiters.Count == 0)
            _lastLiftTarget = user.Counter - user.Pending;
        return new LlmTurn(this, user, charge, weight, _time.GetTimestamp());
    }

    private void Dispatch()
    {
        while (_free > 0 && _waiting > 0)
        {
            var next = _enabled ? LowestCounter() : Oldest();
            var waiter = next.Waiters.First!.Value;
            next.Waiters.RemoveFirst();
            _waiting--;
            var turn = Grant(next, waiter.Weight, waiter.EstimatedTokens);
            // Continuations run asynchronously (outside this lock); a waiter that gave up meanwhile hands its slot on.
            if (!waiter.Turn.TrySetResult(turn))
            {
                next.InFlight--;
                next.Counter -= (double)turn.Charged / turn.Weight;
                next.Pending -= (double)turn.Charged / turn.Weight;
                _free++;
            }
        }
    }

    private UserShare LowestCounter()
    {
        UserShare? best = null;
        foreach (var user in _users.Values)
        {
            if (user.Waiters.Count == 0)
                continue;
            if (best is null || user.Counter < best.Counter || (user.Counter == best.Counter && user.InFlight < best.InFlight))
                best = user;
        }
        return best!;
    }

    private UserShare Oldest()
    {
        UserShare? best = null;
        foreach (var user in _users.Values)
        {
            if (user.Waiters.Count > 0 && (best is null || user.Waiters.First!.Value.Arrival < best.Waiters.First!.Value.Arrival))
                best = user;
        }
        return best!;
    }

    private void Abandon(UserShare user, Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!user.Waiters.Remove(waiter))
                return;
            _waiting--;
            ForgetIfIdle(user);
        }
        waiter.Turn.TrySetCanceled(cancellationToken);
    }

    // Kept while it has anything here, parked messages due back, or a recent demand (a backlog still in the queue). One
    // forgotten ahead of the others is remembered (see DebtMemory); the last one here sets where the next starts.
    private void ForgetIfIdle(UserShare user, (double Target, bool FromOthers)? liftTarget = null)
    {
        if (user.Held != 0 || user.InFlight != 0 || user.Waiters.Count != 0 || HasParked(user) || DemandOf(user, _time.GetTimestamp()) >= 0.5)
            return;
        _users.Remove(user.UserId);
        var settled = user.Counter - user.Pending;
        var (target, fromOthers) = liftTarget ?? LiftTarget(user);
        if (!fromOthers)
            // The last one here: where the next to come starts (the Virtual Token Counter's last client to leave).
            _lastLiftTarget = Math.Max(_lastLiftTarget, settled);
        else if (settled > target && _remembered.Count < MaxRemembered)
            _remembered[user.UserId] = (settled, _time.GetTimestamp());
    }

    // Users kept only for the pace of their parked messages, once that pace has passed; users remembered longer than DebtMemory.
    private void Sweep()
    {
        _holdsSinceSweep = 0;
        // The same for every idle user: it counts only those in line, and an idle user is not.
        var liftTarget = LiftTarget(except: null);
        foreach (var user in _users.Values.ToList())
            ForgetIfIdle(user, liftTarget);
        foreach (var (userId, left) in _remembered.ToList())
        {
            if (left.Counter <= liftTarget.Target || _time.GetElapsedTime(left.At) > DebtMemory)
                _remembered.Remove(userId);
        }
    }

    internal sealed record Waiter(long EstimatedTokens, int Weight, long Arrival)
    {
        public TaskCompletionSource<LlmTurn> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
