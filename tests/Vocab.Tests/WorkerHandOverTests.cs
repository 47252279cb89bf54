using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client.Exceptions;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// A worker that stops (a deploy, a node going away) while an LLM call is in flight hands the message back to the broker:
/// the next worker answers it once, the first one's reservation is given back, and nothing lands on a dead-letter queue.
/// Real workers, broker, MongoDB and HTTP LLM endpoint.
/// </summary>
public sealed class WorkerHandOverTests(WorkerHandOverTests.HandOverWorker fixture) : IClassFixture<WorkerHandOverTests.HandOverWorker>
{
    /// <summary>Workers that cancel work in hand one second into a stop.</summary>
    public sealed class HandOverWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Worker:ConsumerStopTimeout"] = "00:00:01",
        };
    }

    [Fact]
    public async Task WorkerStoppedMidLlmCall_TheNextWorkerAnswersOnce_NothingDeadLettered_ReservationGivenBack()
    {
        var user = $"handover-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var callsBefore = fixture.Llm.CallCount;
        // The first call hangs (the stopping worker's), every later one answers.
        fixture.Llm.Behaviour = n => n == callsBefore + 1 ? FakeLlmAnswer.Slow(TimeSpan.FromMinutes(5)) : FakeLlmAnswer.Items(3);
        var request = WorkerFixture.NewRequest();

        var answer = fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => fixture.Llm.CallCount > callsBefore, "the first worker called the LLM");
        await fixture.Worker.StopAsync();
        using var next = await fixture.StartAnotherWorkerAsync();
        var response = await answer;

        Assert.True(response.Is(out Response<VocabularyGenerated>? generated), "answered with the list by the next worker");
        Assert.Equal(3, generated!.Message.Items.Count);
        Assert.Equal(2, fixture.Llm.CallCount - callsBefore);
        var usage = await next.Services.GetRequiredService<QuotaLedger>().GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
        Assert.Equal(1, usage.Requests);
        Assert.Equal(33, usage.UsedTokens);
        Assert.Equal(0, usage.ReservedTokens);
        Assert.Equal(0u, await MessagesOnAsync(WorkerFixture.ErrorQueueName));
        Assert.Equal(0u, await MessagesOnAsync(WorkerFixture.RefusedQueueName));
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("handed back to the broker unfinished", StringComparison.Ordinal));
    }

    // A dead-letter queue exists once the first copy is filed: none is no copy.
    private async Task<uint> MessagesOnAsync(string queue)
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException)
        {
            return 0;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
                throw new TimeoutException($"not {what} in 20 s");
            await Task.Delay(50);
        }
    }
}
