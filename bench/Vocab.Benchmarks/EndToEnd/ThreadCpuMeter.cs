namespace Vocab.Benchmarks.EndToEnd;

/// <summary>
/// CPU time of some of the worker process's threads (by name) over a span, polled every 100 ms so that threads which start
/// and end within it (the runtime's background tiered compiler does) are counted up to their last poll.
/// </summary>
public sealed class ThreadCpuMeter : IAsyncDisposable
{
    private readonly WorkerProcess _worker;
    private readonly string[] _prefixes;
    private readonly Dictionary<int, long> _atStart;
    private readonly Dictionary<int, long> _last = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _polling;

    public ThreadCpuMeter(WorkerProcess worker, params string[] threadNamePrefixes)
    {
        _worker = worker;
        _prefixes = threadNamePrefixes;
        _atStart = worker.ThreadTicks(threadNamePrefixes);
        _polling = PollAsync();
    }

    /// <summary>CPU the matching threads used since this meter started, up to the last poll; stops the polling.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        await _stop.CancelAsync();
        await _polling;
        Poll();
        long ticks = 0;
        foreach (var (thread, last) in _last)
            ticks += last - _atStart.GetValueOrDefault(thread);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }

    private void Poll()
    {
        foreach (var (thread, ticks) in _worker.ThreadTicks(_prefixes))
            _last[thread] = ticks;
    }

    private async Task PollAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
                Poll();
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }
}
