using System.Diagnostics.Metrics;

namespace Vocab.Worker.FairShare;

/// <summary>
/// Meter <c>Vocab.FairShare</c>: <c>vocab.fair_share.parked</c> (requests parked over their user's share),
/// <c>vocab.fair_share.turn_wait</c> (ms a held request waited for its turn, by plan and outcome: <c>granted</c>, or
/// <c>gave_up</c> when the wait was cancelled) and <c>vocab.fair_share.users</c> (users with messages held, waiting or in
/// a call here).
/// </summary>
public sealed class FairShareMetrics
{
    public const string MeterName = "Vocab.FairShare";

    private readonly TimeProvider _time;
    private readonly Counter<long> _parked;
    private readonly Histogram<double> _turnWait;

    public FairShareMetrics(IMeterFactory meters, FairShareScheduler scheduler, TimeProvider time)
    {
        _time = time;
        var meter = meters.Create(MeterName);
        _parked = meter.CreateCounter<long>("vocab.fair_share.parked", description: "Requests parked on a delay queue over their user's fair share");
        _turnWait = meter.CreateHistogram<double>("vocab.fair_share.turn_wait", unit: "ms", description: "Time a held request waited for its LLM turn (or gave up), by plan and outcome");
        meter.CreateObservableGauge("vocab.fair_share.users", () => scheduler.TrackedUsers, description: "Users with messages held, waiting or in a call");
    }

    /// <summary>Counts one parked request.</summary>
    public void Parked() => _parked.Add(1);

    /// <summary>
    /// Awaits <paramref name="turn"/> (a wait just begun) and records how long a request of <paramref name="plan"/> waited
    /// for it, also when the wait was given up: otherwise the longest waits, those cut short, would go unseen.
    /// </summary>
    public async Task<LlmTurn> TimeTurnAsync(string plan, Task<LlmTurn> turn)
    {
        var started = _time.GetTimestamp();
        var outcome = "gave_up";
        try
        {
            var granted = await turn;
            outcome = "granted";
            return granted;
        }
        finally
        {
            _turnWait.Record(_time.GetElapsedTime(started).TotalMilliseconds,
                new KeyValuePair<string, object?>("plan", plan), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }
}
