namespace Vocab.Storage;

/// <summary>
/// Group commit: concurrent writes (or reads) of one key go to MongoDB as one command. The first caller of a key sends at
/// once, alone, so an idle system waits for nothing; callers that arrive while that command is in flight queue up and go
/// together in the next (up to <c>maxBatch</c>), each answered by its own entry. Only a key with a command in flight has
/// state here, so it is bounded by the commands in flight.
/// </summary>
/// <remarks>
/// <paramref name="flush"/> answers each entry (<see cref="GroupCommitEntry{TItem,TResult}.Complete"/> or
/// <see cref="GroupCommitEntry{TItem,TResult}.Fail"/>); one it throws from fails every entry it has not answered.
/// It runs with no caller's cancellation: one waiter giving up does not cancel the others' write.
/// </remarks>
public sealed class GroupCommit<TItem, TResult>(Func<string, IReadOnlyList<GroupCommitEntry<TItem, TResult>>, Task> flush, int maxBatch)
{
    // A key is here exactly while a command of it is in flight; its queue holds who arrived meanwhile.
    private readonly Dictionary<string, Queue<GroupCommitEntry<TItem, TResult>>> _waiting = new(StringComparer.Ordinal);

    /// <summary>
    /// Sends <paramref name="item"/> under <paramref name="key"/>, alone or with others; its result. A caller cancelled
    /// before its command is sent is left out of it (and told so); once sent, cancelling only stops its waiting.
    /// </summary>
    public Task<TResult> SubmitAsync(string key, TItem item, CancellationToken cancellationToken = default)
    {
        var entry = new GroupCommitEntry<TItem, TResult>(item, cancellationToken);
        lock (_waiting)
        {
            if (_waiting.TryGetValue(key, out var queue))
            {
                queue.Enqueue(entry);
                return entry.Result.WaitAsync(cancellationToken);
            }
            _waiting[key] = new Queue<GroupCommitEntry<TItem, TResult>>();
        }
        _ = SendAsync(key, [entry]);
        return entry.Result.WaitAsync(cancellationToken);
    }

    private async Task SendAsync(string key, List<GroupCommitEntry<TItem, TResult>> batch)
    {
        // Off the first caller's thread: a driver call can run a while before its first wait, and callers submitting in a
        // loop would otherwise each find the key idle again.
        await Task.Yield();
        while (true)
        {
            batch.RemoveAll(entry => entry.CancelIfRequested());
            if (batch.Count > 0)
            {
                try
                {
                    await flush(key, batch);
                    foreach (var entry in batch)
                        entry.Fail(new InvalidOperationException($"The group commit of '{key}' did not answer one of its entries."));
                }
                catch (Exception e)
                {
                    foreach (var entry in batch)
                        entry.Fail(e);
                }
            }
            lock (_waiting)
            {
                var queue = _waiting[key];
                if (queue.Count == 0)
                {
                    _waiting.Remove(key);
                    return;
                }
                batch = new List<GroupCommitEntry<TItem, TResult>>(Math.Min(queue.Count, maxBatch));
                while (batch.Count < maxBatch && queue.TryDequeue(out var next))
                    batch.Add(next);
            }
        }
    }
}
