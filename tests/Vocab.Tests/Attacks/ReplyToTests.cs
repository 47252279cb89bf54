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

    /// <summary>
    /// Direct reply-to and server-named queue names the broker never gave out: the worker's answer to one must not close
    /// the channel its deliveries are on (as a forged response address once did).
    /// </summary>
    [Theory]
    [InlineData("amq.rabbitmq.reply-to.g1h2AA==.bogus", false)]
    [InlineData("amq.rabbitmq.reply-to.garbage", true)]
    [InlineData("amq.rabbitmq.reply-toX", true)]
    [InlineData("amq.gen-doesnotexist", true)]
    public async Task AForgedReplyQueueName_IsNotAnsweredThere_AndTheMessageIsFinishedOnce(string replyTo, bool withCredential)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"forged-{Guid.NewGuid():N}"[..20]);
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var request = WorkerFixture.NewRequest();
        var messageId = Guid.NewGuid();
        var headers = new Dictionary<string, object?>();
        if (withCredential)
            headers[VocabHeaders.ApiKey] = key;
        var properties = new BasicProperties
        {
            ContentType = "application/json", ReplyTo = replyTo, CorrelationId = Guid.NewGuid().ToString(), MessageId = messageId.ToString(), Headers = headers,
        };
        await channel.BasicPublishAsync("", WorkerFixture.QueueName, false, properties,
            JsonSerializer.SerializeToUtf8Bytes(request, new JsonSerializerOptions(JsonSerializerDefaults.Web)));

        await AssertFinishedOnceAsync(request, messageId, withCredential, key);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResponseAddressNamingANewExchange_IsNotAnswered_AndNoExchangeIsCreated(bool withCredential)
    {
        // The worker may declare vocab-bridge-bus-* (the bridges' answers): MassTransit declares what it sends to, so each
        // new name here would be an exchange created for good, one per message.
        var exchange = RequesterEndpoints.NewName();
        var (_, messageId, _) = await SendWithResponseAddressAsync(exchange, withCredential);

        if (!withCredential)
            Assert.Equal(RejectionReasons.MissingCredentials,
                (await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId)).Header(VocabHeaders.Reason));
        await WaitUntilLoggedAsync(exchange);

        // Where the answer would have been sent, the worker logged why it was not: had it been sent, the exchange would exist.
        var vhost = Uri.EscapeDataString(fixture.VirtualHost.Name);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.VirtualHost.Management.GetAsync($"api/exchanges/{vhost}/{exchange}")).StatusCode);
    }

    /// <summary>
    /// A response address naming an exchange that exists but is no requester's (a reserved <c>amq.*</c> one): MassTransit
    /// would declare it as it sends, the broker would refuse and close the channel, and every delivery in flight on it, this
    /// one included, would be met again. Not answered; the message is finished once and the worker goes on serving.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AResponseAddressNamingAReservedExchange_IsNotAnswered_AndTheMessageIsFinishedOnce(bool withCredential)
    {
        var (request, messageId, key) = await SendWithResponseAddressAsync("amq.topic", withCredential);

        await AssertFinishedOnceAsync(request, messageId, withCredential, key);
    }

    /// <summary>
    /// A requester endpoint's name on an exchange declared with other settings than a bus's temporary fanout (by an account
    /// that may declare such names): MassTransit's declare as it answers would be refused, closing the channel. Not answered.
    /// </summary>
    [Theory]
    [InlineData(true, ExchangeType.Fanout, false)]
    [InlineData(true, ExchangeType.Fanout, true)]
    [InlineData(false, ExchangeType.Direct, true)]
    public async Task ARequesterNameDeclaredWithOtherSettings_IsNotAnswered_AndTheMessageIsFinishedOnce(bool durable, string type, bool withCredential)
    {
        var exchange = RequesterEndpoints.NewName();
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(exchange, type, durable: durable, autoDelete: !durable);
        var listener = (await channel.QueueDeclareAsync()).QueueName;
        await channel.QueueBindAsync(listener, exchange, "");
        var (request, messageId, key) = await SendWithResponseAddressAsync(exchange, withCredential);

        await AssertFinishedOnceAsync(request, messageId, withCredential, key);
        Assert.Equal(0u, await channel.MessageCountAsync(listener));
        Assert.Contains(fixture.Logs.Lines, l => l.Contains(exchange, StringComparison.Ordinal) && l.Contains("other settings", StringComparison.Ordinal));
        await channel.ExchangeDeleteAsync(exchange);
    }

    [Theory]
    [InlineData("vocab-bridge-bus-0a1b2c", true)]
    [InlineData("vocab-bridge-bus-host_1-abc", true)]
    [InlineData("vocab-bridge-bus-", false)]
    [InlineData("VOCAB-BRIDGE-BUS-0a1b", false)]
    [InlineData("vocab-bridge-bus-0a1b/x", false)]
    [InlineData("vocab-bridge-bus-0a1b.x", false)]
    [InlineData("vocab-bridge-bus-0a1b\nforged", false)]
    [InlineData("amq.topic", false)]
    [InlineData("backend_bus_xyz", false)]
    public void OnlyRequesterEndpointNames_AreAnswered(string name, bool requester) =>
        Assert.Equal(requester, RequesterEndpoints.IsRequesterEndpoint(name));

    /// <summary>
    /// A requester's exchange (declared as a bus declares its own: not durable, auto-deleted) named without
    /// <c>temporary=true</c>: sent as the address says, MassTransit would declare it durable, which the broker refuses. It is
    /// answered as the requester's bus declared it, once.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARequesterExchangeNamedWithOtherSettings_IsAnsweredAsItIs_AndTheMessageIsFinishedOnce(bool withCredential)
    {
        var exchange = RequesterEndpoints.NewName();
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: false, autoDelete: true);
        var listener = (await channel.QueueDeclareAsync()).QueueName;
        await channel.QueueBindAsync(listener, exchange, "");
        var (request, messageId, key) = await SendWithResponseAddressAsync(exchange, withCredential);

        await AssertFinishedOnceAsync(request, messageId, withCredential, key);
        Assert.Equal(1u, await channel.MessageCountAsync(listener));
        var answer = await channel.BasicGetAsync(listener, autoAck: true);
        Assert.Contains(withCredential ? "VocabularyGenerated" : "GenerateVocabularyRejected", System.Text.Encoding.UTF8.GetString(answer!.Body.Span));
    }

    /// <summary>Sends a request whose MassTransit response address names <paramref name="exchange"/> with no option.</summary>
    private async Task<(GenerateVocabulary Request, Guid MessageId, string Key)> SendWithResponseAddressAsync(string exchange, bool withCredential)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"forged-{Guid.NewGuid():N}"[..20]);
        var endpoint = await fixture.Publisher.GetSendEndpoint(new Uri($"queue:{WorkerFixture.QueueName}"));
        var request = WorkerFixture.NewRequest();
        var messageId = NewId.NextGuid();
        await endpoint.Send(request, context =>
        {
            context.MessageId = messageId;
            context.RequestId = NewId.NextGuid();
            context.ResponseAddress = new Uri(fixture.Publisher.Address, $"/{Uri.EscapeDataString(fixture.VirtualHost.Name)}/{exchange}");
            if (withCredential)
                context.UseApiKey(key);
        });
        return (request, messageId, key);
    }

    /// <summary>
    /// The message was finished (refused and filed, or served) exactly once, and the worker still answers on the connection
    /// and channel it had: had an answer closed the channel before the message was acknowledged, it would be met again.
    /// </summary>
    private async Task AssertFinishedOnceAsync(GenerateVocabulary request, Guid messageId, bool withCredential, string key)
    {
        var id = request.RequestId.ToString();
        if (withCredential)
            for (var i = 0; i < 150 && !fixture.Logs.Lines.Any(l => l.Contains(id, StringComparison.Ordinal) && l.Contains("Generated", StringComparison.Ordinal)); i++)
                await Task.Delay(200);
        else
            Assert.Equal(RejectionReasons.MissingCredentials,
                (await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId)).Header(VocabHeaders.Reason));

        var served = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        Assert.True(served.Is(out Response<VocabularyGenerated>? _));

        if (withCredential)
        {
            Assert.Single(fixture.Logs.Lines, l => l.Contains(id, StringComparison.Ordinal) && l.Contains("Generated", StringComparison.Ordinal));
            Assert.DoesNotContain(fixture.Logs.Lines, l => l.Contains(id, StringComparison.Ordinal) && l.Contains("already processed", StringComparison.Ordinal));
        }
        else
            await Assert.ThrowsAsync<TimeoutException>(() =>
                DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId, TimeSpan.FromSeconds(3)));
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
    [InlineData("amq.rabbitmq.reply-to", false)] // the broker hands the worker the full name, never this one
    [InlineData("amq.rabbitmq.reply-toX", false)]
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
