using System.Diagnostics.Metrics;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Copies filed by queue and reason (meter <c>Vocab.DeadLetters</c>: <c>vocab.dead_letters.filed</c>). The refused queue
/// drops its oldest entries past its bound; this count is what remains of them.
/// </summary>
public sealed class DeadLetterMetrics
{
    public const string MeterName = "Vocab.DeadLetters";

    private readonly Counter<long> _filed;

    public DeadLetterMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _filed = meter.CreateCounter<long>("vocab.dead_letters.filed", description: "Dead-lettered copies written, by queue and reason");
    }

    /// <summary>Counts one copy written to <paramref name="queue"/>.</summary>
    public void Filed(string queue, string? reason) =>
        _filed.Add(1, new KeyValuePair<string, object?>("queue", queue), new KeyValuePair<string, object?>("reason", reason ?? "unknown"));
}
