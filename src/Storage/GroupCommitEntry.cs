namespace Vocab.Storage;

/// <summary>One caller's item in a <see cref="GroupCommit{TItem,TResult}"/> command, and how it is answered (once).</summary>
public sealed class GroupCommitEntry<TItem, TResult>(TItem item, CancellationToken cancellationToken)
{
    // Answers continue on the pool, not inside the flush loop: the next command of the key is not held up by a waiter.
    private readonly TaskCompletionSource<TResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TItem Item { get; } = item;

    internal Task<TResult> Result => _result.Task;

    /// <summary>Whether the caller has its answer (or failure) already.</summary>
    public bool IsAnswered => _result.Task.IsCompleted;

    /// <summary>Tells the caller it was cancelled, if it was, before its command is sent; whether it was.</summary>
    internal bool CancelIfRequested() => cancellationToken.IsCancellationRequested && _result.TrySetCanceled(cancellationToken);

    /// <summary>Answers the caller with <paramref name="result"/>, unless it is answered already.</summary>
    public void Complete(TResult result) => _result.TrySetResult(result);

    /// <summary>Fails the caller with <paramref name="error"/>, unless it is answered already.</summary>
    public void Fail(Exception error) => _result.TrySetException(error);
}
