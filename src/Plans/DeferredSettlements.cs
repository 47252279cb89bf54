namespace Vocab.Plans;

/// <summary>
/// Settlements this process owes, by usage document: a served request whose answer is stored (carrying its charge) and
/// whose reservation is not ended yet. The next admission into the same document carries them in its one update, and
/// whatever is still here after <c>Settlement:SettleWithin</c> goes on its own. In memory only: a worker that dies with
/// some here leaves them to the orphan sweep, which settles them from the charge their stored answers carry.
/// </summary>
internal sealed class DeferredSettlements
{
    private readonly Dictionary<string, List<DeferredSettlement>> _byUsage = new(StringComparer.Ordinal);

    /// <summary>How many are owed now.</summary>
    public int Count
    {
        get
        {
            lock (_byUsage)
                return _byUsage.Values.Sum(l => l.Count);
        }
    }

    public void Add(DeferredSettlement settlement)
    {
        lock (_byUsage)
        {
            if (!_byUsage.TryGetValue(settlement.Reservation.UsageId, out var owed))
                _byUsage[settlement.Reservation.UsageId] = owed = [];
            owed.Add(settlement);
        }
    }

    /// <summary>Puts back what an update failed to send: owed as before, but it may have been applied (see <see cref="DeferredSettlement.Uncertain"/>).</summary>
    public void AddBack(IEnumerable<DeferredSettlement> settlements)
    {
        foreach (var settlement in settlements)
            Add(settlement with { Uncertain = true });
    }

    /// <summary>Puts back settlements that were taken and not sent at all.</summary>
    public void Return(IEnumerable<DeferredSettlement> settlements)
    {
        foreach (var settlement in settlements)
            Add(settlement);
    }

    /// <summary>Takes every settlement owed to one usage document.</summary>
    public IReadOnlyList<DeferredSettlement> TakeFor(string usageId)
    {
        lock (_byUsage)
            return _byUsage.Remove(usageId, out var owed) ? owed : [];
    }

    /// <summary>Takes every settlement deferred at or before <paramref name="deferredBy"/> (all of them with <c>DateTimeOffset.MaxValue</c>).</summary>
    public IReadOnlyList<DeferredSettlement> TakeDue(DateTimeOffset deferredBy)
    {
        var due = new List<DeferredSettlement>();
        lock (_byUsage)
        {
            foreach (var (usageId, owed) in _byUsage.ToList())
            {
                due.AddRange(owed.Where(s => s.DeferredAt <= deferredBy));
                owed.RemoveAll(s => s.DeferredAt <= deferredBy);
                if (owed.Count == 0)
                    _byUsage.Remove(usageId);
            }
        }
        return due;
    }
}
