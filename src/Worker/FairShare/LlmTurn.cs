namespace Vocab.Worker.FairShare;

/// <summary>
/// One LLM call slot, charged to its user at the estimate; <see cref="Settle"/> corrects the charge to what the call used,
/// and disposing it (once) frees the slot for the next user in line.
/// </summary>
public sealed class LlmTurn : IDisposable
{
    private readonly FairShareScheduler _scheduler;
    private readonly UserShare _user;
    private readonly long _charged;
    private readonly long _started;
    private int _settled;
    private int _released;
    private bool _called;

    internal LlmTurn(FairShareScheduler scheduler, UserShare user, long charged, long started)
    {
        _scheduler = scheduler;
        _user = user;
        _charged = charged;
        _started = started;
    }

    /// <summary>What the turn was charged when it started.</summary>
    internal long Charged => _charged;

    /// <summary>
    /// Charges the tokens the call used in place of the estimate (once). A turn that used none is charged the part of a
    /// call its time in the slot was, so messages that never call cannot hold slots for free.
    /// </summary>
    public void Settle(long usedTokens)
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
            return;
        _called = usedTokens > 0;
        _scheduler.Settle(_user, _charged, usedTokens, _scheduler.Time.GetElapsedTime(_started));
    }

    /// <summary>
    /// Charges the turn as a call of its estimate whatever happens next: it is held without one, waiting for another
    /// delivery of its request. Refunded, copies of a user's own request in flight would hold turns for nothing and, its
    /// counter staying lowest, win every turn that frees.
    /// </summary>
    public void SettleAsHeld() => Settle(_charged);

    /// <summary>Frees the turn; one never settled keeps the charge it started with.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        Settle(_charged);
        _scheduler.Leave(_user, _scheduler.Time.GetElapsedTime(_started), _called);
    }
}
