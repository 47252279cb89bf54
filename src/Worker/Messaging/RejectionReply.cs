using MassTransit;
using Vocab.Contracts;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Tells the requester, once, that its request failed for good. Sent where the failure is known to be final (the
/// authentication filter, the consumer on its last attempt), because MassTransit's own fault would reach a
/// requester first and carry no reason code; the dead-letter pipe only answers when nobody did.
/// </summary>
public static class RejectionReply
{
    private sealed class Sent;

    private sealed class SentToRequester;

    /// <summary>True when a rejection was already sent for this delivery.</summary>
    public static bool WasSent(ReceiveContext context) => context.HasPayloadType(typeof(Sent));

    /// <summary>
    /// True when the rejection went to a MassTransit requester that takes its faults at the same address: MassTransit's
    /// own <c>Fault&lt;T&gt;</c> would only be a second, reason-less answer there.
    /// </summary>
    public static bool ReachedRequester(ReceiveContext context) => context.HasPayloadType(typeof(SentToRequester));

    /// <summary>True when the message comes from a MassTransit requester that takes its faults where it takes its answers.</summary>
    public static bool AnswersRequester(ConsumeContext? context) =>
        context?.ResponseAddress is { } responseAddress && (context.FaultAddress is null || context.FaultAddress == responseAddress);

    /// <summary>Sends <see cref="GenerateVocabularyRejected"/> to whoever asked, if anyone did and nobody answered yet.</summary>
    public static async Task SendAsync(ReceiveContext receiveContext, ConsumeContext? consumeContext, GenerateVocabulary? request, string reason,
        int? retryAfterSeconds = null, DateTimeOffset? quotaResetsAt = null)
    {
        if (WasSent(receiveContext))
            return;
        receiveContext.GetOrAddPayload(() => new Sent());
        await RequesterReply.SendAsync(receiveContext, consumeContext,
            new GenerateVocabularyRejected
            {
                RequestId = request?.RequestId ?? Guid.Empty, VideoId = request?.VideoId ?? "", Reason = reason,
                RetryAfterSeconds = retryAfterSeconds, QuotaResetsAt = quotaResetsAt,
            });
        if (AnswersRequester(consumeContext))
            receiveContext.GetOrAddPayload(() => new SentToRequester());
    }
}
