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
    /// Where to answer the requester's response address: the requester endpoint it names (<see cref="RequesterEndpoints"/>),
    /// on the worker's own broker and virtual host, as the temporary exchange a bus declares for itself. Null for any other
    /// address: MassTransit declares the exchange it sends to, and a name the worker's account may not declare (a reserved
    /// <c>amq.*</c> exchange, an event exchange, another queue's) or an existing exchange declared with other settings makes
    /// the broker close the channel, with every delivery in flight on it.
    /// </summary>
    private static Uri? ResponseAddressOf(ReceiveContext receiveContext, ConsumeContext? consumeContext)
    {
        if (consumeContext?.ResponseAddress is not { } address || !ReplyQueues.IsPlainBusAddress(address))
            return null;
        var name = LastSegment(address);
        if (!RequesterEndpoints.IsRequesterEndpoint(name)
            || ReplyQueues.IsWorkersOwn(name, LastSegment(receiveContext.InputAddress), ContractExchangePrefix))
            return null;
        var canonical = new UriBuilder(receiveContext.InputAddress) { Query = "temporary=true" };
        canonical.Path = canonical.Path[..(canonical.Path.LastIndexOf('/') + 1)] + name;
        return canonical.Uri;
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
    /// Sends the reply if anyone asked for one; false when nobody did, when the MassTransit response address names an
    /// exchange that does not exist as a requester's (<see cref="ResponseExchanges"/>), or when the broker did not confirm
    /// the reply within <paramref name="timeout"/> (a queue there that refuses it has MassTransit retry for hours).
    /// </summary>
    public static async Task<bool> SendAsync<T>(ReceiveContext receiveContext, ConsumeContext? consumeContext, T message, ResponseExchanges exchanges,
        TimeSpan timeout)
        where T : class
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(receiveContext.CancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            return await SendBoundedAsync(receiveContext, consumeContext, message, exchanges, bounded.Token);
        }
        catch (OperationCanceledException) when (bounded.IsCancellationRequested && !receiveContext.CancellationToken.IsCancellationRequested)
        {
            exchanges.NotConfirmed(timeout);
            return false;
        }
    }

    private static async Task<bool> SendBoundedAsync<T>(ReceiveContext receiveContext, ConsumeContext? consumeContext, T message, ResponseExchanges exchanges,
        CancellationToken cancellationToken)
        where T : class
    {
        receiveContext.TryGetPayload(out RateReport? report);
        if (consumeContext is not null && ResponseAddressOf(receiveContext, consumeContext) is { } address)
        {
            var caller = consumeContext.TryGetPayload(out AuthenticatedCaller? authenticated) ? authenticated.UserId : null;
            // The lookup too is within the bound: a second connection that stalls must not hold the slot.
            if (!await exchanges.ExistsAsync(LastSegment(address), caller, cancellationToken))
                return false;
            // Sent, not MassTransit's RespondAsync: to the address checked above rather than the one the publisher wrote (the
            // request client matches its answer by RequestId; credential headers are removed from every send).
            var endpoint = await consumeContext.GetSendEndpoint(address);
            await endpoint.Send(message, reply =>
            {
                reply.RequestId = consumeContext.RequestId;
                reply.ConversationId = consumeContext.ConversationId;
                reply.InitiatorId = consumeContext.MessageId;
                if (report is not null)
                {
                    reply.Headers.Set(VocabHeaders.RateLimitPolicy, report.Rate.PolicyHeader);
                    reply.Headers.Set(VocabHeaders.RateLimit, report.Rate.StatusHeader);
                }
            }, cancellationToken);
            return true;
        }

        if (consumeContext?.ResponseAddress is { } refused && ReplyQueues.IsPlainBusAddress(refused))
            exchanges.NotARequester(LastSegment(refused));

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
        var body = JsonSerializer.SerializeToUtf8Bytes(message, Json);
        // A direct reply-to name the broker cannot deliver to closes the channel: never the one deliveries are on.
        if (ReplyQueues.IsDirectReplyTo(replyTo))
            return await exchanges.DirectReplies.PublishAsync(replyTo, properties, body, cancellationToken);
        // A server-named queue that does not exist only makes the answer unroutable (not mandatory: dropped).
        await channel.BasicPublishAsync("", replyTo, false, properties, body, true, cancellationToken);
        return true;
    }
}
