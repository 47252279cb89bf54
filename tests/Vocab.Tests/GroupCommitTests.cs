using Vocab.Storage;

namespace Vocab.Tests;

/// <summary>
/// The group commit under the settlements, stores and reuse lookups: the first caller of a key goes alone at once, the
/// callers that arrive while its command is in flight go together in the next, each answered with its own result.
/// </summary>
public sealed class GroupCommitTests
{
    private readonly List<string[]> _sent = [];
    private readonly Queue<TaskCompletionSource> _gates = new();

    private GroupCommit<string, string> NewCommit(int maxBatch = 64) => new(async (key, batch) =>
    {
        TaskCompletionSource gate;
        lock (_sent)
        {
            _sent.Add(batch.Select(e => $"{key}:{e.Item}").ToArray());
            gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _gates.Enqueue(gate);
        }
        await gate.Task;
        foreach (var entry in batch)
            entry.Complete(entry.Item.ToUpperInvariant());
    }, maxBatch);

    private void OpenNextGate()
    {
        lock (_sent)
            _gates.Dequeue().SetResult();
    }

    private async Task WaitForSentAsync(int count)
    {
        while (true)
        {
            lock (_sent)
                if (_sent.Count >= count)
                    return;
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task SubmitAsync_WhileAKeysCommandIsInFlight_SendsTheArrivalsTogetherNext()
    {
        var commit = NewCommit();
        var first = commit.SubmitAsync("u1", "a");
        await WaitForSentAsync(1);
        var later = new[] { "b", "c", "d" }.Select(i => commit.SubmitAsync("u1", i)).ToArray();

        Assert.Single(_sent);
        Assert.Equal(["u1:a"], _sent[0]);
        OpenNextGate();
        Assert.Equal("A", await first);
        await WaitForSentAsync(2);
        Assert.Equal(["u1:b", "u1:c", "u1:d"], _sent[1]);
        OpenNextGate();
        Assert.Equal(["B", "C", "D"], await Task.WhenAll(later));
        Assert.Equal(2, _sent.Count);
    }

    [Fact]
    public async Task SubmitAsync_OtherKeys_GoAtOnceAndAlone()
    {
        var commit = NewCommit();
        var one = commit.SubmitAsync("u1", "a");
        var two = commit.SubmitAsync("u2", "b");

        await WaitForSentAsync(2);
        Assert.Equal(2, _sent.Count);
        OpenNextGate();
        OpenNextGate();
        Assert.Equal(["A", "B"], await Task.WhenAll(one, two));
    }

    [Fact]
    public async Task SubmitAsync_MoreArrivalsThanABatch_SplitsThemInOrder()
    {
        var commit = NewCommit(maxBatch: 2);
        var all = new[] { "a", "b", "c", "d", "e" }.Select(i => commit.SubmitAsync("k", i)).ToArray();
        for (var sent = 1; sent <= 3; sent++)
        {
            await WaitForSentAsync(sent);
            OpenNextGate();
        }

        Assert.Equal(["A", "B", "C", "D", "E"], await Task.WhenAll(all));
        Assert.Equal(["k:a|k:b,k:c|k:d,k:e"], [string.Join('|', _sent.Select(b => string.Join(',', b)))]);
    }

    [Fact]
    public async Task SubmitAsync_FlushThrows_FailsItsCallersAndTheKeyGoesOn()
    {
        var calls = 0;
        var commit = new GroupCommit<string, string>((_, batch) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
                throw new TimeoutException("server gone");
            batch[0].Complete("answered");
            return Task.CompletedTask;
        }, 64);

        await Assert.ThrowsAsync<TimeoutException>(() => commit.SubmitAsync("k", "a"));
        Assert.Equal("answered", await commit.SubmitAsync("k", "b"));
    }

    [Fact]
    public async Task SubmitAsync_EntryTheFlushLeavesUnanswered_Fails()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit<string, string>(async (_, batch) =>
        {
            await gate.Task;
            batch[0].Complete("first only");
        }, 64);
        var first = commit.SubmitAsync("k", "a");
        var second = commit.SubmitAsync("k", "b");
        var third = commit.SubmitAsync("k", "c");
        gate.SetResult();

        Assert.Equal("first only", await first);
        Assert.Equal("first only", await second);
        await Assert.ThrowsAsync<InvalidOperationException>(() => third);
    }

    [Fact]
    public async Task SubmitAsync_CancelledBeforeItsCommandIsSent_LeftOutAndToldSo()
    {
        var commit = NewCommit();
        var first = commit.SubmitAsync("u1", "a");
        await WaitForSentAsync(1);
        using var cancel = new CancellationTokenSource();
        var gaveUp = commit.SubmitAsync("u1", "b", cancel.Token);
        var stays = commit.SubmitAsync("u1", "c");

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);
        OpenNextGate();
        await first;
        await WaitForSentAsync(2);
        OpenNextGate();

        Assert.Equal("C", await stays);
        Assert.Equal(["u1:c"], _sent[1]);
    }
}
