using System.Net;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests.Attacks;

/// <summary>
/// The worker answers a plain publisher through the default exchange, which reaches every queue: a <c>reply_to</c> must
/// name a queue only that publisher reads, or a publisher (even one with no credential) could have the worker write into
/// queues it cannot (ops' dead-letter queues, another subscriber's).
/// </summary>
public sealed class ReplyToTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>
{
    [Fact]
    public async Task ReplyTo_NamingAnotherQueue_IsNotAnswered_AndTheRefusalIsStillFiled()
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var victim = $"victim-{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(victim, durable: false, exclusive: false, autoDelete: false);
        var messageId = Guid.NewGuid();
        var properties = new BasicProperties
        {
            ContentType = "application/json", ReplyTo = victim, CorrelationId = Guid.NewGuid().ToString(), MessageId = messageId.ToString(),
        };
        await channel.BasicPublishAsync("", WorkerFixture.QueueName, false, properties,
            JsonSerializer.SerializeToUtf8Bytes(WorkerFixture.NewRequest(), new JsonSerializerOptions(JsonSerializerDefaults.Web)));

        var refused = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        Assert.Equal(RejectionReasons.MissingCredentials, refused.Header(VocabHeaders.Reason));
        // A reply is sent, and confirmed, before the refusal is filed: had there been one, it would be on the queue now.
        Assert.Equal(0u, await channel.MessageCountAsync(victim));
        await channel.QueueDeleteAsync(victim);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResponseAddressNamingANewExchange_IsNotAnswered_AndNoExchangeIsCreated(bool withCredential)
    {
        // The worker may declare vocab-bridge-bus-* (the bridges' answers): MassTransit declares what it sends to, so each
        // new name here would be an exchange created for good, one per message.
        var exchange = $"vocab-bridge-bus-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync($"reply-{Guid.NewGuid():N}"[..20]);
        var request = WorkerFixture.NewRequest();
        var endpoint = await fixture.Publisher.GetSendEndpoint(new Uri($"queue:{WorkerFixture.QueueName}"));
        var messageId = NewId.NextGuid();
        await endpoint.Send(request, context =>
        {
            context.MessageId = messageId;
            context.RequestId = NewId.NextGuid();
            context.ResponseAddress = new Uri(fixture.Publisher.Address, $"/{Uri.EscapeDataString(fixture.VirtualHost.Name)}/{exchange}");
            if (withCredential)
                context.UseApiKey(key);
        });

        if (!withCredential)
            Assert.Equal(RejectionReasons.MissingCredentials,
                (await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId)).Header(VocabHeaders.Reason));
        await WaitUntilLoggedAsync(exchange);

        // Where the answer would have been sent, the worker logged why it was not: had it been sent, the exchange would exist.
        var vhost = Uri.EscapeDataString(fixture.VirtualHost.Name);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.VirtualHost.Management.GetAsync($"api/exchanges/{vhost}/{exchange}")).StatusCode);
    }

    private async Task WaitUntilLoggedAsync(string exchange)
    {
        for (var i = 0; i < 150 && !fixture.Logs.Lines.Any(l => l.Contains(exchange, StringComparison.Ordinal)); i++)
            await Task.Delay(200);
        Assert.Contains(fixture.Logs.Lines, l => l.Contains(exchange, StringComparison.Ordinal) && l.Contains("Not answered", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("rabbitmq://broker/vocab-bridge-bus-0a1b?temporary=true", true)]
    [InlineData("rabbitmqs://broker:5671/vhost/vocab-bridge-bus-0a1b?durable=false&autodelete=true", true)]
    [InlineData("rabbitmq://broker/vocab-bridge-bus-0a1b", true)]
    [InlineData("rabbitmq://broker/vocab-bridge-bus-0a1b?temporary=true&bind=true&queue=vocab-bridge-bus-new", false)]
    [InlineData("rabbitmq://broker/vocab-bridge-bus-0a1b?bindexchange=vocab-bridge-bus-new", false)]
    [InlineData("rabbitmq://broker/vocab-bridge-bus-0a1b?alternateexchange=vocab-bridge-bus-new", false)]
    [InlineData("rabbitmq://broker/vocab-bridge-bus-0a1b?type=topic", false)]
    [InlineData("rabbitmq://broker/vocab-bridge-bus-0a1b?b%69nd=true&queue=vocab-bridge-bus-new", false)]
    [InlineData("queue:vocab-bridge-bus-new", false)]
    [InlineData("exchange:vocab-bridge-bus-new", false)]
    [InlineData("rabbitmq://broker/", false)]
    public void OnlyPlainBusEndpointAddresses_AreAnswered(string address, bool answerable) =>
        Assert.Equal(answerable, ReplyQueues.IsPlainBusAddress(new Uri(address)));

    [Theory]
    [InlineData("amq.rabbitmq.reply-to", true)]
    [InlineData("amq.rabbitmq.reply-to.g1h2AA5yZXBseUAx.abc", true)]
    [InlineData("amq.gen-JzTY20BRgKO-HjmUJj0wLg", true)]
    [InlineData("generate-vocabulary_error", false)]
    [InlineData("vocab-events.billing", false)]
    [InlineData("Vocab.Contracts:GenerateVocabularyRejected", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void OnlyQueuesThePublisherAloneReads_AreAnswered(string? replyTo, bool answerable) =>
        Assert.Equal(answerable, ReplyQueues.IsAnswerable(replyTo));

    [Theory]
    [InlineData("generate-vocabulary", true)]
    [InlineData("generate-vocabulary_error", true)]
    [InlineData("GENERATE-VOCABULARY_quarantine", true)]
    [InlineData("generate-vocabulary_delay_5s", true)]
    [InlineData("Vocab.Contracts:VocabularyGenerated", true)]
    [InlineData("vocab-bridge-bus-host1-abc", false)]
    [InlineData("backend_bus_xyz", false)]
    public void MassTransitResponseAddresses_NamingTheWorkersOwnQueues_AreNotAnswered(string name, bool workersOwn) =>
        Assert.Equal(workersOwn, ReplyQueues.IsWorkersOwn(name, WorkerFixture.QueueName, "Vocab.Contracts:"));
}
