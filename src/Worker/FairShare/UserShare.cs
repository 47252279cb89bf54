namespace Vocab.Worker.FairShare;

/// <summary>One user's state in the <see cref="FairShareScheduler"/>; read and written under its lock only.</summary>
internal sealed class UserShare(string userId, int weight)
{
    public string UserId { get; } = userId;

    public int Weight { get; set; } = weight;

    /// <summary>Tokens served (charged at the start of a call, corrected when it settles) divided by the weight.</summary>
    public double Counter { get; set; }

    /// <summary>Messages held in this worker (past parking).</summary>
    public int Held { get; set; }

    /// <summary>LLM calls in flight.</summary>
    public int InFlight { get; set; }

    /// <summary>Calls waiting for a slot, oldest first.</summary>
    public LinkedList<FairShareScheduler.Waiter> Waiters { get; } = new();

    /// <summary>When the last message parked here is due back.</summary>
    public DateTimeOffset NextReturn { get; set; }
}
