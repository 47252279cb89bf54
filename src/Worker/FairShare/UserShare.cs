namespace Vocab.Worker.FairShare;

/// <summary>One user's state in the <see cref="FairShareScheduler"/>; read and written under its lock only.</summary>
internal sealed class UserShare(string userId, int weight)
{
    public string UserId { get; } = userId;

    public int Weight { get; set; } = weight;

    /// <summary>Tokens served (charged at the start of a call, corrected when it settles) divided by the weight.</summary>
    public double Counter { get; set; }

    /// <summary>The part of <see cref="Counter"/> charged to turns not settled yet.</summary>
    public double Pending { get; set; }

    /// <summary>Messages held in this worker (past parking).</summary>
    public int Held { get; set; }

    /// <summary>LLM calls in flight.</summary>
    public int InFlight { get; set; }

    /// <summary>Calls waiting for a slot, oldest first.</summary>
    public LinkedList<FairShareScheduler.Waiter> Waiters { get; } = new();

    /// <summary>Its messages that arrived here lately (held or parked), decayed over time; see <see cref="DemandStamp"/>.</summary>
    public double Demand { get; set; }

    /// <summary>When <see cref="Demand"/> was last brought up to date (a <see cref="TimeProvider"/> timestamp).</summary>
    public long DemandStamp { get; set; }

    /// <summary>When the last message parked here is due back.</summary>
    public DateTimeOffset NextReturn { get; set; }
}
