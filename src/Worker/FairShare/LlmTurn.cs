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
    private readonly int _weight;
    private readonly long _started;
    private int _settled;
    private int _released;
    private bool _called;

    internal LlmTurn(FairShareScheduler scheduler, UserShare user, long charged, int weight, long started)
    {
        _scheduler = scheduler;
        _user = user;
        _charged = charged;
        _weight = weight;
        _started = started;
    }

    /// <summary>What the turn was charged when it started.</summary>
    internal long Charged => _charged;

    /// <summary>The user's weight when the turn started: its charge is taken back at that weight, whatever the user's plan says meanwhile.</summary>
    internal int Weight => _weight;

    /// <summary>
    /// Charges <paramref name="usedTokens"/> in place of what the turn started with (once). A turn that used none (or
    /// whose provider reports no usage) is charged its time in the slot as a part of a call, so messages that never call
    /// cannot hold slots for free. <paramref name="called"/>: the turn's own LLM call answered; only such turns teach the
    /// scheduler what a call costs and takes (its pace and its charges).
    /// </summary>
    public void Settle(long usedTokens, bool called = false) => SettleOnce(usedTokens, called, atLeast: 0);

    /// <summary>
    /// Charges the turn its time in the slot, and at least one call, whatever happens next: it is held without one,
    /// waiting for another delivery of its request. Refunded, copies of a user's own request in flight would hold turns for
    /// nothing and, its counter staying lowest, win every turn that frees.
    /// </summary>
    public void SettleAsHeld() => SettleOnce(0, called: false, atLeast: _charged);

    private void SettleOnce(long usedTokens, bool called, long atLeast)
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
            return;
        _called = called;
        _scheduler.Settle(_user, _weight, _charged, usedTokens, _scheduler.Time.GetElapsedTime(_started), called, atLeast);
    }

    /// <summary>Frees the turn; one never settled keeps the charge it started with.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        Settle(_charged);
        _scheduler.Leave(_user, _scheduler.Time.GetElapsedTime(_started), _called);
    }
}
