using Microsoft.Extensions.Options;
using Vocab.Worker.Llm;

namespace Vocab.Worker.FairShare;

/// <summary>
/// Shares this worker's LLM call slots (<c>Llm:MaxConcurrentCalls</c>) among the users whose messages it holds, after the
/// Virtual Token Counter (Sheng et al., "Fairness in Serving Large Language Models", OSDI 2024). Each user has a counter of
/// the tokens it was served divided by its plan weight; a free slot goes to the waiting user with the lowest counter (the
/// fewest calls in flight breaks a tie), and a user that starts waiting is lifted to the lowest counter of those already
/// waiting, so idle time earns no credit. Nobody waits while a slot is free: the share binds only under contention.
/// <para>
/// It also bounds what a user may hold in the worker (<see cref="TryHold"/>): the slots the other holders are not entitled
/// to use, plus <see cref="FairShareOptions.Headroom"/>. A message over that bound is parked on a delay queue, so a burst
/// leaves the shared input queue at once instead of standing in front of everyone else's messages.
/// </para>
/// State exists only for users with messages held, waiting or in flight here: bounded by the worker's concurrency, and
/// nothing to recover when a worker dies (its held messages go back to the broker).
/// </summary>
public sealed class FairShareScheduler
{
    // Until calls were timed: a typical chat completion.
    private static readonly TimeSpan InitialCallTime = TimeSpan.FromMilliseconds(500);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, UserShare> _users = new(StringComparer.Ordinal);
    private readonly bool _enabled;
    private readonly int _slots;
    private readonly int _headroom;
    private readonly TimeProvider _time;
    private int _free;
    private int _waiting;
    private long _arrivals;
    private int _holdsSinceSweep;
    private double _callSeconds;

    public FairShareScheduler(IOptions<LlmOptions> llm, IOptions<FairShareOptions> options, TimeProvider time)
    {
        _enabled = options.Value.Enabled;
        _slots = _free = llm.Value.MaxConcurrentCalls;
        _headroom = options.Value.Headroom;
        _time = time;
        _callSeconds = InitialCallTime.TotalSeconds;
    }

    /// <summary>How long a call has taken lately (a moving average).</summary>
    public TimeSpan TypicalCallTime
    {
        get
        {
            lock (_lock)
                return TimeSpan.FromSeconds(_callSeconds);
        }
    }

    /// <summary>Users with state here: those holding, waiting for or in a call.</summary>
    public int TrackedUsers
    {
        get
        {
            lock (_lock)
                return _users.Count;
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
            if (_enabled && user.Held >= BoundOf(user))
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
    /// the user is being served here. <paramref name="due"/>, when the message was parked before and given a time then,
    /// keeps that time.
    /// </summary>
    public DateTimeOffset ParkUntil(ShareKey who, DateTimeOffset? due)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (due is { } kept && kept > now)
                return kept;
            var user = Enter(who);
            var pace = TimeSpan.FromSeconds(_callSeconds / Math.Max(1, user.InFlight));
            user.NextReturn = (user.NextReturn > now ? user.NextReturn : now) + pace;
            var until = user.NextReturn;
            ForgetIfIdle(user);
            return until;
        }
    }

    /// <summary>
    /// Waits for an LLM call slot as <paramref name="who"/>, charged <paramref name="estimatedTokens"/> until the call
    /// settles. The task completes the moment the slot is granted.
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
                return Task.FromResult(Grant(user, estimatedTokens));
            if (user.Waiters.Count == 0)
                Lift(user);
            waiter = new Waiter(estimatedTokens, _arrivals++);
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

    internal void Settle(UserShare user, long chargedTokens, long actualTokens)
    {
        lock (_lock)
            user.Counter += (double)(actualTokens - chargedTokens) / user.Weight;
    }

    internal void Leave(UserShare user, TimeSpan took)
    {
        lock (_lock)
        {
            // Moving average over about the last 20 calls: the parking pace follows the provider's speed.
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

    // The call slots the other holders are not entitled to use (each is entitled to its weighted share of the slots, or
    // what it holds if less), plus the headroom: everything when alone, its share under contention.
    private int BoundOf(UserShare user)
    {
        var totalWeight = 0L;
        foreach (var other in _users.Values)
        {
            if (other.Held > 0 || other == user)
                totalWeight += other.Weight;
        }
        var othersUse = 0.0;
        foreach (var other in _users.Values)
        {
            if (other != user && other.Held > 0)
                othersUse += Math.Min(other.Held, _slots * (double)other.Weight / totalWeight);
        }
        return Math.Max(1, (int)Math.Floor(_slots - othersUse + 1e-9)) + _headroom;
    }

    private UserShare Enter(ShareKey who)
    {
        if (!_users.TryGetValue(who.UserId, out var user))
        {
            user = new UserShare(who.UserId, who.Weight);
            _users[who.UserId] = user;
        }
        user.Weight = who.Weight;
        return user;
    }

    // A user that starts waiting starts from the lowest counter among those waiting: idle time is no credit.
    private void Lift(UserShare user)
    {
        var lowest = double.MaxValue;
        foreach (var other in _users.Values)
        {
            if (other != user && other.Waiters.Count > 0 && other.Counter < lowest)
                lowest = other.Counter;
        }
        if (lowest != double.MaxValue && user.Counter < lowest)
            user.Counter = lowest;
    }

    private LlmTurn Grant(UserShare user, long estimatedTokens)
    {
        _free--;
        user.InFlight++;
        user.Counter += (double)estimatedTokens / user.Weight;
        return new LlmTurn(this, user, estimatedTokens, _time.GetTimestamp());
    }

    private void Dispatch()
    {
        while (_free > 0 && _waiting > 0)
        {
            var next = _enabled ? LowestCounter() : Oldest();
            var waiter = next.Waiters.First!.Value;
            next.Waiters.RemoveFirst();
            _waiting--;
            var turn = Grant(next, waiter.EstimatedTokens);
            // Continuations run asynchronously (outside this lock); a waiter that gave up meanwhile hands its slot on.
            if (!waiter.Turn.TrySetResult(turn))
            {
                next.InFlight--;
                next.Counter -= (double)waiter.EstimatedTokens / next.Weight;
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

    private void ForgetIfIdle(UserShare user)
    {
        if (user.Held == 0 && user.InFlight == 0 && user.Waiters.Count == 0 && user.NextReturn <= _time.GetUtcNow())
            _users.Remove(user.UserId);
    }

    // Users kept only for the pace of their parked messages, once that pace has passed.
    private void Sweep()
    {
        _holdsSinceSweep = 0;
        foreach (var user in _users.Values.ToList())
            ForgetIfIdle(user);
    }

    internal sealed record Waiter(long EstimatedTokens, long Arrival)
    {
        public TaskCompletionSource<LlmTurn> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
