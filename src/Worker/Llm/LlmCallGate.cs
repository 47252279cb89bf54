using Microsoft.Extensions.Options;
using Vocab.Worker.FairShare;

namespace Vocab.Worker.Llm;

/// <summary>
/// What the provider sees of this worker: at most <see cref="LlmOptions.MaxConcurrentCalls"/> calls in flight, shared
/// fairly among users (<see cref="FairShareScheduler"/>), and none at all while the provider has asked the worker to wait
/// (429/503 with Retry-After), whichever message asks.
/// </summary>
public sealed class LlmCallGate(FairShareScheduler slots, IOptions<LlmOptions> options, TimeProvider time)
{
    private readonly TimeSpan _maxPause = options.Value.MaxProviderPause;
    private long _pausedUntilTicks;

    /// <summary>When calls may resume; in the past when they may go now.</summary>
    public DateTimeOffset PausedUntil => new(Interlocked.Read(ref _pausedUntilTicks), TimeSpan.Zero);

    /// <summary>Waits out any pause, then for <paramref name="who"/>'s turn at a slot; dispose the result to free it.</summary>
    public async Task<LlmTurn> EnterAsync(ShareKey who, long estimatedTokens, CancellationToken cancellationToken)
    {
        while (PausedUntil - time.GetUtcNow() is { Ticks: > 0 } wait)
            await Task.Delay(wait, time, cancellationToken);
        return await slots.EnterAsync(who, estimatedTokens, cancellationToken);
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
}
