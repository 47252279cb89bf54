namespace Vocab.Worker.Messaging;

/// <summary>
/// How many response-exchange lookups each caller may cost a second (the unauthenticated share one budget), and all
/// callers together, counted in whole seconds of the worker's clock. A fixed window rather than a refilling bucket: a
/// caller's flood leaves its own budget spent until the second turns, and a test drives the second with a fake clock.
/// </summary>
public sealed class LookupBudget(int perCaller, int inAll, TimeProvider time)
{
    private readonly Lock _gate = new();
    // This second's counts only: a new second starts them all again, so the table holds at most inAll callers.
    private readonly Dictionary<string, int> _taken = new(StringComparer.Ordinal);
    private long _second = long.MinValue;
    private int _takenInAll;

    /// <summary>True, and one lookup counted, when <paramref name="caller"/> and all callers have budget left this second.</summary>
    public bool TryTake(string caller)
    {
        var second = time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            if (second != _second)
            {
                _taken.Clear();
                _second = second;
                _takenInAll = 0;
            }
            _taken.TryGetValue(caller, out var taken);
            if (taken >= perCaller || _takenInAll >= inAll)
                return false;
            _taken[caller] = taken + 1;
            _takenInAll++;
            return true;
        }
    }
}
