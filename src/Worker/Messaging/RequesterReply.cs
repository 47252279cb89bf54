using System.Text.Json;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Messaging;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Answers whoever asked: a MassTransit requester gets a normal response; a plain-JSON publisher that set AMQP
/// <c>reply_to</c> gets plain camelCase JSON on that queue with its own <c>correlation_id</c> (the usual RabbitMQ RPC pattern),
/// if the queue is one only that publisher reads (<see cref="ReplyQueues"/>); any other is not answered.
/// </summary>
public static class RequesterReply
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // What MassTransit names the exchanges of our message types ("Vocab.Contracts:VocabularyGenerated"): every event
    // subscriber reads them, so no requester's answer may go there, whatever address the publisher named.
    private static readonly string ContractExchangePrefix = typeof(GenerateVocabulary).Namespace + ":";

    /// <summary>
    /// True when someone waits for an answer: a MassTransit requester, or a publisher that set a <c>reply_to</c> the worker
    /// answers on (<see cref="ReplyQueues.IsAnswerable"/>).
    /// </summary>
    public static bool IsWaiting(ReceiveContext receiveContext, ConsumeContext? consumeContext) =>
        ResponseAddressOf(receiveContext, consumeContext) is not null || ReplyQueueOf(receiveContext) is not null;

    /// <summary>
    /// The requester's response address, if it is a plain bus endpoint address (<see cref="ReplyQueues.IsPlainBusAddress"/>)
    /// that names neither one of the worker's own queues nor one of our message types' exchanges (a publisher's forgery:
    /// the worker may write there, the publisher may not).
    /// </summary>
    private static Uri? ResponseAddressOf(ReceiveContext receiveContext, ConsumeContext? consumeContext)
    {
        if (consumeContext?.ResponseAddress is not { } address || !ReplyQueues.IsPlainBusAddress(address))
            return null;
        var name = LastSegment(address);
        return ReplyQueues.IsWorkersOwn(name, LastSegment(receiveContext.InputAddress), ContractExchangePrefix) ? null : address;
    }

    private static string LastSegment(Uri address)
    {
        var path = address.IsAbsoluteUri ? Uri.UnescapeDataString(address.AbsolutePath) : address.OriginalString;
        return path.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
    }

    /// <summary>The plain publisher's <c>reply_to</c>, when it is one the worker answers on.</summary>
    private static string? ReplyQueueOf(ReceiveContext receiveContext) =>
        receiveContext.TryGetPayload(out RabbitMqBasicConsumeContext? delivery) && ReplyQueues.IsAnswerable(delivery.Properties.ReplyTo)
            ? delivery.Properties.ReplyTo
            : null;

    /// <summary>
    /// Sends the reply if anyone asked for one; false when nobody did, or when the MassTransit response address names an
    /// exchange that does not exist (<see cref="ResponseExchanges"/>).
    /// </summary>
    public static async Task<bool> SendAsync<T>(ReceiveContext receiveContext, ConsumeContext? consumeContext, T message, ResponseExchanges exchanges)
        where T : class
    {
        receiveContext.TryGetPayload(out RateReport? report);
        if (consumeContext is not null && ResponseAddressOf(receiveContext, consumeContext) is { } address)
        {
            var caller = consumeContext.TryGetPayload(out AuthenticatedCaller? authenticated) ? authenticated.UserId : null;
            if (!await exchanges.ExistsAsync(LastSegment(address), caller, receiveContext.CancellationToken))
                return false;
            if (report is null)
                await consumeContext.RespondAsync(message);
            else
                await consumeContext.RespondAsync(message, reply =>
                {
                    reply.Headers.Set(VocabHeaders.RateLimitPolicy, report.Rate.PolicyHeader);
                    reply.Headers.Set(VocabHeaders.RateLimit, report.Rate.StatusHeader);
                });
            return true;
        }

        if (ReplyQueueOf(receiveContext) is not { } replyTo ||
            !receiveContext.TryGetPayload(out RabbitMqBasicConsumeContext? delivery) ||
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
        if (report is not null)
            properties.Headers = new Dictionary<string, object?>
            {
                [VocabHeaders.RateLimitPolicy] = report.Rate.PolicyHeader,
                [VocabHeaders.RateLimit] = report.Rate.StatusHeader,
            };
        await channel.BasicPublishAsync("", replyTo, false, properties, JsonSerializer.SerializeToUtf8Bytes(message, Json), true,
            CancellationToken.None);
        return true;
    }
}
