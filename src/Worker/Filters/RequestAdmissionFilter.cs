using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Vocabularies;
using Vocab.Worker.FairShare;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.Filters;

/// <summary>
/// After authentication, decides whether a request may spend money, in order: its fields are valid; one lookup reads what
/// is stored under its requestId and the answer to its question (<see cref="VocabularyStore.FindForRequestAsync"/>): an
/// answer stored under the id goes straight out again (<see cref="StoredAnswer"/>), and the id stored or recorded for
/// another body or caller is refused <c>request_id_reused</c> before any quota or LLM call; then the caller's plan admits
/// it in one conditional update that also claims the id while it is in flight (its fingerprint and this delivery's
/// lease, <see cref="RequestClaimTerms"/>): one worker at a time produces it (the others wait for its answer, or take
/// over a lease that ran out), and the same id in flight with another body is refused. Plan refusals are thrown with the
/// reason, never retried; over the rate, the message goes back to the queue after the window, until
/// RateLimits:MaxDelay. A requester that asked to be answered without waiting (<see cref="AnswerWithoutWaiting"/>, the
/// bridge) is told over the rate or in progress at once instead, and its answer carries the rate window
/// (<see cref="RateReport"/>). What it takes (the reservation and its lease) it leaves on the receive context as a
/// <see cref="RequestHold"/>: the outcome filter ends them.
/// </summary>
public sealed partial class RequestAdmissionFilter<T>(PlanAdmission admission, QuotaLedger ledger, VocabularyStore store, VocabularySource source,
    RequestTokenEstimator estimator, IOptions<RateLimitOptions> rateOptions, IOptions<MessagingOptions> messaging, DelayParking parking, TimeProvider time,
    ILogger<RequestAdmissionFilter<T>> logger)
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

        var fingerprint = RequestFingerprint.For(request, caller.UserId, plan);
        var lookup = await store.FindForRequestAsync(request.RequestId, source.ReuseKeyFor(request, caller.UserId, plan.Limits.Model), context.CancellationToken);
        string? countedInMonth = null;
        if (lookup.ForRequest is { } found)
        {
            if (StoredRequestMatch.IsAnotherRequest(found, caller.UserId, fingerprint))
                throw Reused(request, caller);
            if (found.IsAnswer)
            {
                await SendStoredAsync(context, next, found);
                return;
            }
            // Failed before, counted in that month: a resend that month reserves again without being counted again.
            countedInMonth = found.FailedInMonth;
        }
        // Nothing under the id is another caller's or body's, as far as the store knows: a refusal may be published for it.
        context.ReceiveContext.GetOrAddPayload(() => new RequestIdChecked());

        var options = messaging.Value;
        var claim = new RequestClaimTerms(fingerprint, RequestLease.NewOwner(context.MessageId), options.RequestLease);
        var decision = await admission.AdmitAsync(request, caller.UserId, plan, estimator.Estimate(request), context.CancellationToken, countedInMonth,
            reportRemaining: answerNow, claim);
        if (answerNow && decision.Rate is { } rate)
        {
            var report = new RateReport(rate);
            context.ReceiveContext.AddOrUpdatePayload(() => report, _ => report);
        }

        RequestLease lease;
        QuotaReservation reservation;
        if (decision.InFlight is { } inFlight)
        {
            if (inFlight.Fingerprint is { } held && held != fingerprint)
                throw Reused(request, caller);
            // Admitted before: in flight elsewhere, or its producer stopped. A copy of this very message (redelivered after
            // its first delivery's channel was lost, or published twice when a node went down before confirming it) waits
            // for that delivery's answer: its requester asked once. Only another message under the id (a caller's retry)
            // is told at once that it is in progress.
            var tellInProgress = answerNow && !context.ReceiveContext.Redelivered && !RequestLease.IsOfMessage(inFlight.Owner, context.MessageId);
            var heldElsewhere = inFlight.Owner is not null && inFlight.LeaseUntil > time.GetUtcNow().UtcDateTime;
            var (taken, stored) = await RequestLease.AcquireAsync(ledger, store, inFlight.Reservation, context.MessageId, options.RequestLease,
                tellInProgress ? TimeSpan.Zero : options.InFlightWait, time, context.CancellationToken);
            // Waited for another delivery's answer in this LLM turn, and did not take over to call: charged as a call,
            // never refunded (a taken-over one is charged what its call uses, as any).
            if (taken is null && !tellInProgress && heldElsewhere && context.TryGetPayload(out MessageTurn? turn))
                turn.SettleAsHeld();
            if (stored is not null)
            {
                if (StoredRequestMatch.IsAnotherRequest(stored, caller.UserId, fingerprint))
                    throw Reused(request, caller);
                await SendStoredAsync(context, next, stored);
                return;
            }
            if (taken is null && tellInProgress)
                throw new RequestInProgressException("Another delivery of this requestId is being produced.");
            if (taken is null)
            {
                // Another worker is still producing this request: this copy waits on the delay queue rather than in a consumer slot.
                await parking.ParkAsync(context.ReceiveContext, RateDelay.StepFor(options.InFlightWait));
                LogWaiting(logger, request.RequestId, caller.UserId);
                await context.NotifyConsumed(context, TimeSpan.Zero, "vocab-in-flight-wait");
                return;
            }
            lease = taken;
            // Taken over: this delivery's lease guards the reservation's end, and a reservation taken again claims with it.
            claim = claim with { Owner = taken.Owner };
            reservation = inFlight.Reservation with { Owner = taken.Owner };
        }
        else if (!decision.Admitted)
        {
            await RefusePlanAsync(context, request, caller, decision, answerNow);
            return;
        }
        else
        {
            reservation = decision.Reservation! with { Owner = claim.Owner };
            lease = RequestLease.Held(ledger, reservation, claim.Owner, options.RequestLease, time);
        }

        // Admitted as new, and not just after another copy finished: nothing can be stored under the id, so the consumer
        // need not look. Its lookup's reuse answer serves the first call.
        var admitted = new AdmittedRequest(plan, reservation, claim, nothingStored: decision.InFlight is null && !decision.RecentlyFinished,
            decision.InFlight is null ? lookup : null);
        var hold = new RequestHold(lease, caller.UserId, request.RequestId, fingerprint, admitted);
        context.ReceiveContext.AddOrUpdatePayload(() => hold, _ => hold);
        context.AddOrUpdatePayload(() => admitted, _ => admitted);
        await next.Send(context);
    }

    private Exception Reused(GenerateVocabulary request, AuthenticatedCaller caller)
    {
        LogReused(logger, request.RequestId, caller.UserId);
        return new RequestIdReusedException("requestId reused with a different request.");
    }

    private static Task SendStoredAsync(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next, VocabularyDocument stored)
    {
        var answer = new StoredAnswer(stored);
        context.AddOrUpdatePayload(() => answer, _ => answer);
        return next.Send(context);
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
