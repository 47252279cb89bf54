using System.Collections.Concurrent;

namespace Vocab.Worker.Messaging;

/// <summary>
/// How many response-exchange lookups each caller may cost a second (the unauthenticated share one budget), counted in
/// whole seconds of the worker's clock. A fixed window rather than a refilling bucket: a caller's flood leaves its own
/// budget spent until the second turns, and a test drives the second with a fake clock.
/// </summary>
public sealed class LookupBudget(int perSecond, TimeProvider time)
{
    private const int MaxCallers = 10_000;

    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>True, and one lookup counted, when <paramref name="caller"/> has budget left this second.</summary>
    public bool TryTake(string caller)
    {
        var second = time.GetUtcNow().ToUnixTimeSeconds();
        // Bounded: past this many callers in a second, every window starts again (a flood of identities buys nothing
        // the per-second count does not already allow).
        if (_windows.Count >= MaxCallers)
            _windows.Clear();
        var window = _windows.AddOrUpdate(caller, _ => new Window(second, 1),
            (_, current) => current.Second == second ? current with { Taken = current.Taken + 1 } : new Window(second, 1));
        return window.Taken <= perSecond;
    }

    private sealed record Window(long Second, int Taken);
}
