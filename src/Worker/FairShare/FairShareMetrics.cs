using System.Diagnostics.Metrics;

namespace Vocab.Worker.FairShare;

/// <summary>
/// Meter <c>Vocab.FairShare</c>: <c>vocab.fair_share.parked</c> (requests parked over their user's share) and
/// <c>vocab.fair_share.users</c> (users with messages held, waiting or in a call here).
/// </summary>
public sealed class FairShareMetrics
{
    public const string MeterName = "Vocab.FairShare";

    private readonly Counter<long> _parked;

    public FairShareMetrics(IMeterFactory meters, FairShareScheduler scheduler)
    {
        var meter = meters.Create(MeterName);
        _parked = meter.CreateCounter<long>("vocab.fair_share.parked", description: "Requests parked on a delay queue over their user's fair share");
        meter.CreateObservableGauge("vocab.fair_share.users", () => scheduler.TrackedUsers, description: "Users with messages held, waiting or in a call");
    }

    /// <summary>Counts one parked request.</summary>
    public void Parked() => _parked.Add(1);
}
