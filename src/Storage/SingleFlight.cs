using System.Collections.Concurrent;

namespace Vocab.Storage;

/// <summary>
/// Concurrent loads of one key share one: the first caller starts the load, the others join it until it lands
/// (<see cref="Land"/>). The load runs without any caller's cancellation, so one waiter giving up does not cancel it for
/// the rest; each waiter bounds its own wait (<c>WaitAsync</c>). Used by the credential lookup cache and by the LLM calls
/// identical requests share.
/// </summary>
public sealed class SingleFlight<TValue>
{
    private readonly ConcurrentDictionary<string, Lazy<Task<TValue>>> _flights = new(StringComparer.Ordinal);

    /// <summary>Loads in the air now.</summary>
    public int Count => _flights.Count;

    /// <summary>
    /// The load of <paramref name="key"/>: the one in the air, or a new one from <paramref name="start"/>.
    /// <c>Started</c> is true for the caller whose <paramref name="start"/> it is.
    /// </summary>
    public (Task<TValue> Load, bool Started) Join(string key, Func<Task<TValue>> start)
    {
        var mine = new Lazy<Task<TValue>>(start);
        var shared = _flights.GetOrAdd(key, mine);
        return (shared.Value, ReferenceEquals(shared, mine));
    }

    /// <summary>Ends the sharing of <paramref name="key"/>'s load: the next caller starts a new one.</summary>
    public void Land(string key) => _flights.TryRemove(key, out _);
}
