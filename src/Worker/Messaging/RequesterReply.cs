using System.Text.Json;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Answers whoever asked: a MassTransit requester gets a normal response; a plain-JSON publisher that set AMQP
/// <c>reply_to</c> gets plain camelCase JSON on that queue with its own <c>correlation_id</c> (the usual RabbitMQ RPC pattern).
/// </summary>
public static class RequesterReply
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Sends the reply if anyone asked for one; false when nobody did.</summary>
    public static async Task<bool> SendAsync<T>(ReceiveContext receiveContext, ConsumeContext? consumeContext, T message) where T : class
    {
        if (consumeContext?.ResponseAddress is not null)
        {
            await consumeContext.RespondAsync(message);
            return true;
        }

        if (!receiveContext.TryGetPayload(out RabbitMqBasicConsumeContext? delivery) ||
            string.IsNullOrEmpty(delivery.Properties.ReplyTo) ||
            !receiveContext.TryGetPayload(out ChannelContext? channel))
            return false;

        // Published straight to the default exchange: MassTransit would try to declare the reply queue, which the
        // client owns (and which may be exclusive or a reserved amq.* name).
        var properties = new BasicProperties
        {
            ContentType = "application/json",
            CorrelationId = delivery.Properties.CorrelationId,
            Type = typeof(T).Name,
            DeliveryMode = DeliveryModes.Transient,
        };
        await channel.BasicPublishAsync("", delivery.Properties.ReplyTo, false, properties, JsonSerializer.SerializeToUtf8Bytes(message, Json), true,
            CancellationToken.None);
        return true;
    }
}
