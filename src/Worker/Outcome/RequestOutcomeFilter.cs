using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Vocabularies;
using Vocab.Worker.Filters;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Outcome;

/// <summary>
/// The one owner of a message's final outcome, first in the consume pipe (outside authentication, admission and retry, so
/// it sees only what is final). On success it stops renewing the request's lease (the stored answer answers later
/// copies; the lease ends with the reservation's settlement). On failure, in this order: records the failure under the
/// requestId (the month it was counted in, and its fingerprint), gives back what the request reserved (less what its
/// unusable answers cost), which ends its lease, answers the requester once with the reason, and leaves the <see cref="FailureVerdict"/> for the error pipe, which files
/// the signed dead-letter copy; a plan's or requestId's refusal answered to a requester that asked not to wait is filed
/// as a refusal (metadata only, on the bounded refused queue: replaying it would answer nobody). Nothing below it answers or sends <c>Fault&lt;T&gt;</c>.
/// </summary>
public sealed partial class RequestOutcomeFilter<T>(QuotaLedger quotas, VocabularyStore store, IOptions<PlansOptions> plans, ResponseExchanges exchanges,
    IOptions<MessagingOptions> messaging, TimeProvider time, ILogger<RequestOutcomeFilter<T>> logger) : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        try
        {
            await next.Send(new FaultlessConsumeContext<T>(context));
        }
        catch (Exception failure) when (context.CancellationToken.IsCancellationRequested)
        {
            // The transport is taking the delivery back (a node lost, a stop): whatever failed with it (a cancelled lookup, a
            // reply on a closed channel) is not an outcome. What it held goes back; the error pipe files nothing and hands
            // the message back, and the broker's next delivery answers.
            await GiveBackAsync(context.ReceiveContext, failure);
            LogTakenBack(logger, context.MessageId, failure.GetType().Name);
            throw;
        }
        catch (Exception failure)
        {
            await FailAsync(context, failure);
            throw;
        }
        // Admitted and answered: the requestId now stands for its stored answer, and the lease ends with the reservation's settlement.
        if (context.ReceiveContext.TryGetPayload(out RequestHold? hold))
            await hold.Lease.DisposeAsync();
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-request-outcome");

    private async Task FailAsync(ConsumeContext<T> context, Exception failure)
    {
        await GiveBackAsync(context.ReceiveContext, failure);

        context.ReceiveContext.TryGetPayload(out AuthenticatedCaller? caller);
        var verdict = FailureVerdict.For(failure, caller);
        LogFailed(logger, verdict.IsCallersFault ? LogLevel.Warning : LogLevel.Error, context.MessageId, verdict.Reason, verdict.UserId,
            verdict.KeyId, verdict.TokenId, failure.Message);

        var refusal = FailureVerdict.Find<PlanRefusedException>(failure);
        var retryAfter = refusal?.RetryAfterSeconds ?? FailureVerdict.Find<RequestInProgressException>(failure)?.RetryAfterSeconds;
        try
        {
            var answered = await RejectionReply.SendAsync(context.ReceiveContext, context, context.Message as GenerateVocabulary, verdict.Reason,
                publishWhenNobodyAsked: HoldsItsRequestId(context.ReceiveContext), exchanges, messaging.Value.SendTimeout, retryAfter, refusal?.QuotaResetsAt);
            if (answered && verdict.EndsWithItsAnswer && AnswerWithoutWaiting.IsAsked(context))
                verdict = verdict with { Answered = true };
        }
        catch (Exception e)
        {
            // The message must still reach the dead-letter queue.
            LogReplyFailed(logger, e, context.MessageId);
        }
        context.ReceiveContext.AddOrUpdatePayload(() => verdict, _ => verdict);
    }

    // Published only once the lookup found nothing under the requestId that is another caller's or another body's: a
    // refusal before that (invalid body, another caller's id, no plan) could name someone else's request. The event names
    // the caller, so a reader tells apart a refusal of the same id for another caller while both were in flight.
    private static bool HoldsItsRequestId(ReceiveContext context) => context.HasPayloadType(typeof(RequestIdChecked));

    private async Task GiveBackAsync(ReceiveContext context, Exception failure)
    {
        if (!context.TryGetPayload(out RequestHold? hold))
            return;
        try
        {
            // Recorded first, so a resend is never counted twice: it was counted this month, under this body.
            await store.RecordFailureAsync(hold.RequestId, hold.UserId, hold.Fingerprint, hold.Admitted.Month, time.GetUtcNow().UtcDateTime,
                plans.Value.LedgerRetention, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The reservation still goes back below: a resend may then be counted again, but nothing is left reserved.
            LogRecordFailed(logger, e, hold.RequestId, hold.UserId);
        }
        try
        {
            // Charged what its unusable answers cost, and its calls that timed out; guarded by this delivery's lease, so one
            // that lost it never ends the reservation another delivery now produces under.
            if (hold.Admitted.Reservation is { } reservation)
                await quotas.ReleaseAsync(reservation, CancellationToken.None,
                    (FailureVerdict.Find<LlmInvalidOutputException>(failure)?.SpentTokens ?? 0) + hold.Admitted.TakeUnansweredCallTokens());
        }
        catch (Exception e)
        {
            LogReleaseFailed(logger, e, hold.RequestId, hold.UserId);
        }
        finally
        {
            await hold.Lease.DisposeAsync();
        }
    }

    [LoggerMessage(Message = "Request message {MessageId} failed for good: {Reason}; user {UserId}, key {KeyId}, jti {TokenId}: {Cause}")]
    private static partial void LogFailed(ILogger logger, LogLevel level, Guid? messageId, string reason, string? userId, string? keyId, string? tokenId, string cause);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} handed back to the broker unfinished ({Failure}): the transport cancelled its delivery")]
    private static partial void LogTakenBack(ILogger logger, Guid? messageId, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the requester of message {MessageId} that it failed")]
    private static partial void LogReplyFailed(ILogger logger, Exception exception, Guid? messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not record the failure of request {RequestId} of user {UserId}")]
    private static partial void LogRecordFailed(ILogger logger, Exception exception, Guid requestId, string userId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not give back the reservation of request {RequestId} of user {UserId}")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, Guid requestId, string userId);
}
