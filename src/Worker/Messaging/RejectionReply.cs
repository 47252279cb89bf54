using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Tells whoever sent a request, once, that it failed for good, with the reason: <see cref="GenerateVocabularyRejected"/>
/// to its response address or <c>reply_to</c>; with neither, published as an event (as <see cref="VocabularyGenerated"/>
/// is on success) only for a requestId the sender was proven to hold, never for a refusal before that. Only the outcome filter calls it:
/// MassTransit's own faults are suppressed, as they carry no reason and would race this answer.
/// </summary>
public static class RejectionReply
{
    private sealed class Sent;

    /// <summary>Sends <see cref="GenerateVocabularyRejected"/>, unless that was done already for this delivery; true when a requester was answered.</summary>
    public static async Task<bool> SendAsync(ReceiveContext receiveContext, ConsumeContext consumeContext, GenerateVocabulary? request, string reason,
        bool publishWhenNobodyAsked, ResponseExchanges exchanges, TimeSpan timeout, int? retryAfterSeconds = null, DateTimeOffset? quotaResetsAt = null)
    {
        // Once per delivery; and never after the request was served (its answer stored), whatever failed delivering it.
        if (receiveContext.HasPayloadType(typeof(Sent)) || receiveContext.HasPayloadType(typeof(AnswerStored)))
            return false;
        receiveContext.GetOrAddPayload(() => new Sent());
        var rejection = new GenerateVocabularyRejected
        {
            // Echoed only within the rules' length: a refusal may come before the request was validated.
            RequestId = request?.RequestId ?? Guid.Empty, VideoId = request?.VideoId is { Length: <= GenerateVocabularyRules.MaxVideoIdLength } videoId ? videoId : "",
            Reason = reason,
            RetryAfterSeconds = retryAfterSeconds, QuotaResetsAt = quotaResetsAt,
            UserId = receiveContext.TryGetPayload(out AuthenticatedCaller? caller) ? caller.UserId : null,
        };
        if (await RequesterReply.SendAsync(receiveContext, consumeContext, rejection, exchanges, timeout))
            return true;
        // Published only when nobody asked: a requester that could not be answered (unknown, unconfirmed) is not "nobody".
        if (publishWhenNobodyAsked && request is not null && !RequesterReply.IsWaiting(receiveContext, consumeContext))
        {
            // Bounded as the answers are: an event queue that refuses it would have MassTransit retry for hours.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(receiveContext.CancellationToken);
            bounded.CancelAfter(timeout);
            await consumeContext.Publish(rejection, bounded.Token);
        }
        return false;
    }
}
