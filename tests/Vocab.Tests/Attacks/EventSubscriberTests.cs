using System.Text;
using MassTransit;
using RabbitMQ.Client;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Contracts;
using Vocab.Failures;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests.Attacks;

/// <summary>
/// An event subscriber's account may bind its own queues to the results' exchange. A queue that refuses what it is given
/// (<c>x-max-length=0</c>, <c>reject-publish</c>) makes the broker refuse every result event the worker publishes, after
/// the answer is stored and the requester answered: the requester must still have one answer, and no rejection after it.
/// An account that may declare requester endpoints can do the same to an answer. Neither may hold a consumer slot for long.
/// </summary>
public sealed class EventSubscriberTests(ShortSendTimeoutFixture fixture) : IClassFixture<ShortSendTimeoutFixture>
{
    private const string ResultsExchange = "Vocab.Contracts:VocabularyGenerated";

    [Fact]
    public async Task ASubscriberQueueThatRefusesEvents_LeavesTheRequesterOneAnswer_AndTheEventOnTheErrorQueue()
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        // As MassTransit declares a message type's exchange.
        await channel.ExchangeDeclareAsync(ResultsExchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        var refusing = $"vocab-events.refusing-{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(refusing, durable: false, exclusive: false, autoDelete: true,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" });
        await channel.QueueBindAsync(refusing, ResultsExchange, "");
        var requester = RequesterEndpoints.NewName();
        await channel.ExchangeDeclareAsync(requester, ExchangeType.Fanout, durable: false, autoDelete: true);
        var answers = (await channel.QueueDeclareAsync()).QueueName;
        await channel.QueueBindAsync(answers, requester, "");
        try
        {
            var (request, messageId, _) = await SendAnsweredAtAsync(requester);

            // Retried, then filed for a replay to publish; the requester is not told it failed.
            var failed = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.ErrorQueueName, messageId, TimeSpan.FromSeconds(60));
            Assert.Equal(RejectionReasons.EventNotPublished, failed.Header(VocabHeaders.Reason));

            var first = await channel.BasicGetAsync(answers, autoAck: true);
            Assert.NotNull(first);
            Assert.Contains("VocabularyGenerated", Encoding.UTF8.GetString(first.Body.Span));
            Assert.Contains(request.RequestId.ToString(), Encoding.UTF8.GetString(first.Body.Span));
            Assert.Null(await channel.BasicGetAsync(answers, autoAck: true));
        }
        finally
        {
            await channel.QueueDeleteAsync(refusing);
        }
    }

    /// <summary>The unpublished event's copy, replayed once the refusing queue is gone: the event is published, nobody is answered again, no LLM call.</summary>
    [Fact]
    public async Task ReplayingAnUnpublishedEvent_PublishesIt_AndAnswersNoOneAgain()
    {
        await using var ops = await OpsHost.StartAsync(OpsHost.Configuration(fixture));
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(ResultsExchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        var refusing = (await channel.QueueDeclareAsync(arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" })).QueueName;
        await channel.QueueBindAsync(refusing, ResultsExchange, "");
        var requester = RequesterEndpoints.NewName();
        await channel.ExchangeDeclareAsync(requester, ExchangeType.Fanout, durable: false, autoDelete: true);
        var answers = (await channel.QueueDeclareAsync()).QueueName;
        await channel.QueueBindAsync(answers, requester, "");
        var (request, messageId, _) = await SendAnsweredAtAsync(requester);
        var store = ops.Services.GetRequiredService<FailureStore>();
        FailureDocument? failure = null;
        for (var i = 0; i < 300 && failure is null; i++)
        {
            failure = (await store.ListAsync(new FailureFilter(Reason: RejectionReasons.EventNotPublished), 50, default)).Rows
                .FirstOrDefault(f => f.MessageId == messageId.ToString());
            if (failure is null)
                await Task.Delay(200);
        }
        Assert.NotNull(failure);
        Assert.Equal(1u, await channel.MessageCountAsync(answers));
        await channel.QueueDeleteAsync(refusing);
        var events = (await channel.QueueDeclareAsync()).QueueName;
        await channel.QueueBindAsync(events, ResultsExchange, "");
        var callsBefore = fixture.Llm.CallCount;

        var outcome = await ops.Services.GetRequiredService<FailureReplayer>().ReplayAsync([failure.Id], "test", TimeSpan.FromMinutes(1), default);

        Assert.Single(outcome.Replayed);
        BasicGetResult? published = null;
        for (var i = 0; i < 150 && published is null; i++)
        {
            published = await channel.BasicGetAsync(events, autoAck: true);
            if (published is null)
                await Task.Delay(200);
        }
        Assert.NotNull(published);
        Assert.Contains(request.RequestId.ToString(), Encoding.UTF8.GetString(published.Body.Span));
        // An answer goes out beside the event: given two more seconds, none has come.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(1u, await channel.MessageCountAsync(answers));
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
    }

    [Fact]
    public async Task ARequesterQueueThatRefusesAnswers_CostsTheSendTimeout_AndTheRequestIsServedOnce()
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var requester = RequesterEndpoints.NewName();
        await channel.ExchangeDeclareAsync(requester, ExchangeType.Fanout, durable: false, autoDelete: true);
        var refusing = (await channel.QueueDeclareAsync(arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" })).QueueName;
        await channel.QueueBindAsync(refusing, requester, "");
        var (request, _, key) = await SendAnsweredAtAsync(requester);

        // Given up after Worker:SendTimeout (MassTransit alone would retry the refused answer for hours); the request stays
        // served: its stored answer answers the requester's next try.
        for (var i = 0; i < 150 && !fixture.Logs.Lines.Any(l => l.Contains("did not confirm the answer", StringComparison.Ordinal)); i++)
            await Task.Delay(200);
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("did not confirm the answer", StringComparison.Ordinal));
        var again = await fixture.RequestAsync(request, c => c.UseApiKey(key));
        Assert.True(again.Is(out Response<VocabularyGenerated>? served));
        Assert.Equal(request.RequestId, served!.Message.RequestId);
        Assert.Single(fixture.Logs.Lines, l => l.Contains(request.RequestId.ToString(), StringComparison.Ordinal) && l.Contains("Generated", StringComparison.Ordinal));
        Assert.Equal(0u, await channel.MessageCountAsync(WorkerFixture.QueueName));
    }

    /// <summary>Sends a new user's request whose answer goes to the requester endpoint <paramref name="requester"/>.</summary>
    private async Task<(GenerateVocabulary Request, Guid MessageId, string Key)> SendAnsweredAtAsync(string requester)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"events-{Guid.NewGuid():N}"[..20]);
        var request = WorkerFixture.NewRequest();
        var messageId = NewId.NextGuid();
        var endpoint = await fixture.Publisher.GetSendEndpoint(new Uri($"queue:{WorkerFixture.QueueName}"));
        await endpoint.Send(request, context =>
        {
            context.MessageId = messageId;
            context.RequestId = NewId.NextGuid();
            context.ResponseAddress = new Uri(fixture.Publisher.Address, $"/{Uri.EscapeDataString(fixture.VirtualHost.Name)}/{requester}?temporary=true");
            context.UseApiKey(key);
        });
        return (request, messageId, key);
    }
}
