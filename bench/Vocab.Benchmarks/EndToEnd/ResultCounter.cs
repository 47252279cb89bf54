using System.Collections.Concurrent;
using MassTransit;
using Vocab.Contracts;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>A temporary receive endpoint on the benchmark's bus that completes once N distinct results have arrived.</summary>
public sealed class ResultCounter(int expected)
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<Guid, bool> _seen = new();
    private int _remaining = expected;

    /// <summary>Completes when every expected result has arrived.</summary>
    public Task Done => _done.Task;

    /// <summary>Adds the listening endpoint to a bus being configured.</summary>
    public void Listen(IRabbitMqBusFactoryConfigurator rabbit, string name) =>
        rabbit.ReceiveEndpoint($"{name}-{Guid.NewGuid():N}", e =>
        {
            e.AutoDelete = true;
            e.Durable = false;
            e.Handler<VocabularyGenerated>(context =>
            {
                if (_seen.TryAdd(context.Message.RequestId, true) && Interlocked.Decrement(ref _remaining) == 0)
                    _done.TrySetResult();
                return Task.CompletedTask;
            });
        });
}
