using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Vocabularies;
using Vocab.Worker.FairShare;
using Vocab.Worker.Messaging;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.Filters;

/// <summary>
/// After authentication, decides whether a request may spend money, in order: its fields are valid; its requestId is
/// bound to this very request (<see cref="RequestClaims"/>: the same id with another body or caller is refused
/// <c>request_id_reused</c> before any quota or LLM call); an id seen before is looked up in the store, and an answered one
/// goes straight to its stored answer (<see cref="StoredAnswer"/>); one worker at a time holds the id (the others wait
/// for its answer); the caller's plan admits it (refusals thrown with the reason,
/// never retried; over the rate, sent back to the queue after the window, until RateLimits:MaxDelay). A requester that
/// asked to be answered without waiting (<see cref="AnswerWithoutWaiting"/>, the bridge) is told over the rate or in
/// progress at once instead, and its answer carries the rate window (<see cref="RateReport"/>). What it takes (the
/// lease, the reservation) it leaves on the receive context as a <see cref="RequestHold"/>: the outcome filter ends them.
/// </summary>
public sealed partial class RequestAdmissionFilter<T>(PlanAdmission admission, RequestClaims claims, VocabularyStore store, RequestTokenEstimator estimator,
    IOptions<RateLimitOptions> rateOptions, IOptions<MessagingOptions> messaging, DelayParking parking, TimeProvider time, ILogger<RequestAdmissionFilter<T>> logger)
    : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        // Without a proven caller the consumer refuses (fail closed); other message types are not requests.
        if (context.Message is not GenerateVocabulary request || !context.TryGetPayload(out AuthenticatedCaller? caller))
        {
            await next.Send(context);
            return;
        }

        var errors = GenerateVocabularyRules.Validate(request);
        if (errors.Count > 0)
            throw new InvalidRequestException($"Invalid request: {string.Join(" ", errors.Values)}");

        var answerNow = AnswerWithoutWaiting.IsAsked(context);
        var planned = admission.PlanFor(caller.Role);
        if (planned.Plan is not { } plan)
        {
            await RefusePlanAsync(context, request, caller, planned, answerNow);
            return;
        }

        var options = messaging.Value;
        var owner = RequestLease.NewOwner(context.MessageId);
        var claim = await claims.RegisterAsync(request.RequestId, caller.UserId, RequestFingerprint.For(request, caller.UserId, plan), context.CancellationToken,
            owner, options.RequestLease);
        if (claim.State == RequestClaimState.Conflict)
        {
            LogReused(logger, request.RequestId, caller.UserId);
            throw new RequestIdReusedException("requestId reused with a different request.");
        }

        RequestLease? lease;
        if (claim.State == RequestClaimState.Leased)
            lease = RequestLease.Held(claims, request.RequestId, owner, options.RequestLease, time);
        else
        {
            // Seen before: answered (its stored answer goes out again, nothing is admitted), in flight elsewhere, or failed.
            // A copy of this very message (redelivered after its first delivery's channel was lost, or published twice when
            // a node went down before confirming it) waits for that delivery's answer: its requester asked once. Only
            // another message under the id (a caller's retry) is told at once that it is in progress.
            var tellInProgress = answerNow && !context.ReceiveContext.Redelivered && !RequestLease.IsOfMessage(claim.Holder, context.MessageId);
            var stored = await store.FindByRequestIdAsync(request.RequestId, context.CancellationToken);
            if (stored is null)
            {
                (lease, stored) = await RequestLease.AcquireAsync(claims, store, request.RequestId, context.MessageId, options.RequestLease,
                    tellInProgress ? TimeSpan.Zero : options.InFlightWait, time, context.CancellationToken);
                // Waited for another delivery's answer in this LLM turn, and did not take over to call: charged as a call,
                // never refunded (a taken-over one is charged what its call uses, as any).
                if (lease is null && !tellInProgress && claim.Holder is not null && context.TryGetPayload(out LlmTurn? turn))
                    turn.SettleAsHeld();
            }
            else
                lease = null;
            if (stored is not null)
            {
                var answer = new StoredAnswer(stored);
                context.AddOrUpdatePayload(() => answer, _ => answer);
                await next.Send(context);
                return;
            }
            if (lease is null && tellInProgress)
                throw new RequestInProgressException("Another delivery of this requestId is being produced.");
            if (lease is null)
            {
                // Another worker is still producing this request: this copy waits on the delay queue rather than in a consumer slot.
                await parking.ParkAsync(context.ReceiveContext, RateDelay.StepFor(options.InFlightWait));
                LogWaiting(logger, request.RequestId, caller.UserId);
                await context.NotifyConsumed(context, TimeSpan.Zero, "vocab-in-flight-wait");
                return;
            }
        }

        var hold = new RequestHold(lease, caller.UserId, request.RequestId);
        context.ReceiveContext.AddOrUpdatePayload(() => hold, _ => hold);
        // Taken over after waiting for another attempt: whether that one was counted is read now, not from before the wait.
        var countedInMonth = lease.TakenAfterWaiting
            ? (await claims.GetAsync(request.RequestId, context.CancellationToken))?.CountedMonth
            : claim.CountedInMonth;
        var decision = await admission.AdmitAsync(request, caller.UserId, plan, estimator.Estimate(request), context.CancellationToken, countedInMonth,
            reportRemaining: answerNow, claimedNow: claim.State == RequestClaimState.Leased);
        if (answerNow && decision.Rate is { } rate)
        {
            var report = new RateReport(rate);
            context.ReceiveContext.AddOrUpdatePayload(() => report, _ => report);
        }
        if (!decision.Admitted)
        {
            await RefusePlanAsync(context, request, caller, decision, answerNow);
            return;
        }
        // First claimed by this delivery: nothing can be stored under the id yet, so the consumer need not look.
        var admitted = new AdmittedRequest(plan, decision.Reservation!, nothingStored: claim.State == RequestClaimState.Leased);
        hold.MarkReserved(admitted);
        context.AddOrUpdatePayload(() => admitted, _ => admitted);
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-request-admission");

    private async Task RefusePlanAsync(ConsumeContext<T> context, GenerateVocabulary request, AuthenticatedCaller caller, AdmissionDecision decision,
        bool answerNow)
    {
        // A requester that asked for its answer without waiting is told over the rate now (the bridge's 429).
        if (decision.RefusalReason == RejectionReasons.RateLimited && decision.Rate is { } rate && !answerNow)
        {
            var step = RateDelay.StepFor(rate.ResetAfter);
            if (RateDelay.AlreadyDelayed(context.ReceiveContext) + step <= rateOptions.Value.MaxDelay)
            {
                await parking.ParkAsync(context.ReceiveContext, step);
                LogDelayed(logger, request.RequestId, caller.UserId, step.TotalSeconds);
                // Handled here: without this the message would count as unconsumed and be filed as unhandled.
                await context.NotifyConsumed(context, TimeSpan.Zero, "vocab-rate-delay");
                return;
            }
        }

        LogRefused(logger, request.RequestId, caller.UserId, decision.RefusalReason!, decision.Detail!);
        throw new PlanRefusedException(decision.RefusalReason!, $"Plan refused the request: {decision.RefusalReason} ({decision.Detail}).")
        {
            RetryAfterSeconds = decision.Rate is { Allowed: false } r ? (int)Math.Ceiling(r.ResetAfter.TotalSeconds) : null,
            QuotaResetsAt = decision.RefusalReason == RejectionReasons.QuotaExceeded ? decision.QuotaResetsAt : null,
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of user {UserId} refused: requestId reused with a different request")]
    private static partial void LogReused(ILogger logger, Guid requestId, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} of user {UserId} is being produced elsewhere: back on the queue to wait for it")]
    private static partial void LogWaiting(ILogger logger, Guid requestId, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} of user {UserId} is over its rate: back on the queue in {Seconds} s")]
    private static partial void LogDelayed(ILogger logger, Guid requestId, string userId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of user {UserId} refused by its plan: {Reason} ({Detail})")]
    private static partial void LogRefused(ILogger logger, Guid requestId, string userId, string reason, string detail);
}
