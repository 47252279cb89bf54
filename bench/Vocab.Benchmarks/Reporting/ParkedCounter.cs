using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Vocab.Benchmarks.Reporting;

/// <summary>Counts <c>vocab.fair_share.parked</c> from the workers in this process.</summary>
public sealed class ParkedCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _count;

    public ParkedCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Vocab.FairShare" && instrument.Name == "vocab.fair_share.parked")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            Interlocked.Add(ref _count, value);
            _at.Enqueue(DateTime.UtcNow);
        });
        _listener.Start();
    }

    private readonly ConcurrentQueue<DateTime> _at = new();

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Parks in each second from <paramref name="start"/>.</summary>
    public IReadOnlyList<int> PerSecondSince(DateTime start)
    {
        var seconds = _at.Where(t => t >= start).Select(t => (int)(t - start).TotalSeconds).ToList();
        return seconds.Count == 0 ? [] : Enumerable.Range(0, seconds.Max() + 1).Select(i => seconds.Count(x => x == i)).ToList();
    }

    public void Dispose() => _listener.Dispose();
}
