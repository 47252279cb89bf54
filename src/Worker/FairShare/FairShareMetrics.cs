using System.Diagnostics.Metrics;

namespace Vocab.Worker.FairShare;

/// <summary>
/// Meter <c>Vocab.FairShare</c>: <c>vocab.fair_share.parked</c> (requests parked over their user's share),
/// <c>vocab.fair_share.turn_wait</c> (ms a held request waited for its turn, by plan) and <c>vocab.fair_share.users</c>
/// (users with messages held, waiting or in a call here).
/// </summary>
public sealed class FairShareMetrics
{
    public const string MeterName = "Vocab.FairShare";

    private readonly Counter<long> _parked;
    private readonly Histogram<double> _turnWait;

    public FairShareMetrics(IMeterFactory meters, FairShareScheduler scheduler)
    {
        var meter = meters.Create(MeterName);
        _parked = meter.CreateCounter<long>("vocab.fair_share.parked", description: "Requests parked on a delay queue over their user's fair share");
        _turnWait = meter.CreateHistogram<double>("vocab.fair_share.turn_wait", unit: "ms", description: "Time a held request waited for its LLM turn, by plan");
        meter.CreateObservableGauge("vocab.fair_share.users", () => scheduler.TrackedUsers, description: "Users with messages held, waiting or in a call");
    }

    /// <summary>Counts one parked request.</summary>
    public void Parked() => _parked.Add(1);

    /// <summary>Records how long a request of <paramref name="plan"/> waited for its turn.</summary>
    public void TurnWaited(string plan, TimeSpan waited) => _turnWait.Record(waited.TotalMilliseconds, new KeyValuePair<string, object?>("plan", plan));
}
