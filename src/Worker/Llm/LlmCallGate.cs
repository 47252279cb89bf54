using Microsoft.Extensions.Options;

namespace Vocab.Worker.Llm;

/// <summary>
/// What the provider sees of this worker: at most <see cref="LlmOptions.MaxConcurrentCalls"/> calls in flight, and none
/// at all while the provider has asked the worker to wait (429/503 with Retry-After), whichever message asks.
/// </summary>
public sealed class LlmCallGate(IOptions<LlmOptions> options, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentCalls, options.Value.MaxConcurrentCalls);
    private readonly TimeSpan _maxPause = options.Value.MaxProviderPause;
    private long _pausedUntilTicks;

    /// <summary>When calls may resume; in the past when they may go now.</summary>
    public DateTimeOffset PausedUntil => new(Interlocked.Read(ref _pausedUntilTicks), TimeSpan.Zero);

    /// <summary>Waits out any pause, then for a free slot; dispose the result to free it.</summary>
    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        while (PausedUntil - time.GetUtcNow() is { Ticks: > 0 } wait)
            await Task.Delay(wait, time, cancellationToken);
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    /// <summary>Pauses every call for <paramref name="wait"/> (capped by <see cref="LlmOptions.MaxProviderPause"/>); a longer pause already set stays.</summary>
    public TimeSpan Pause(TimeSpan wait)
    {
        if (wait > _maxPause)
            wait = _maxPause;
        var until = (time.GetUtcNow() + wait).UtcTicks;
        long current;
        while ((current = Interlocked.Read(ref _pausedUntilTicks)) < until &&
               Interlocked.CompareExchange(ref _pausedUntilTicks, until, current) != current)
        {
        }
        return wait;
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                slots.Release();
        }
    }
}
