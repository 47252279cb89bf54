using System.Text.Json;
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
