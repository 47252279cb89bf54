using MassTransit;
using RabbitMQ.Client;

namespace Vocab.Worker.DeadLetter;

/// <summary>The delivery details of a message with its AMQP properties copied and its credential headers removed.</summary>
public sealed class ScrubbedDelivery(RabbitMqBasicConsumeContext original) : RabbitMqBasicConsumeContext
{
    public string Exchange { get; } = original.Exchange;

    public string RoutingKey { get; } = original.RoutingKey ?? "";

    public string ConsumerTag { get; } = original.ConsumerTag;

    public ulong DeliveryTag { get; } = original.DeliveryTag;

    public IReadOnlyBasicProperties Properties { get; } = new BasicProperties(original.Properties)
    {
        Headers = CredentialScrubber.WithoutCredentials(original.Properties.Headers is { } h ? new Dictionary<string, object?>(h) : null),
    };
}
