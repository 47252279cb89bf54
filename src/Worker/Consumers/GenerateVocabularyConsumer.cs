using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Vocabularies;
using Vocab.Plans;
using Vocab.Worker.FairShare;
using Vocab.Worker.Filters;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.Consumers;

/// <summary>
/// Generates (or finds stored) the vocabulary list for an authenticated request, stores it, publishes
/// <see cref="VocabularyGenerated"/> and answers the requester.
/// </summary>
public sealed partial class GenerateVocabularyConsumer(
    VocabularySource source, VocabularyStore store, QuotaLedger quotas, PlanAdmission admission, RequestTokenEstimator estimator, UsageMetrics usage,
    ResponseExchanges exchanges, IOptions<MessagingOptions> messaging, TimeProvider time,
    ILogger<GenerateVocabularyConsumer> logger)
    : IConsumer<GenerateVocabulary>
{
    /// <inheritdoc />
    /// <remarks>A failure is thrown as it is: the outcome filter gives back what was reserved, answers and dead-letters.</remarks>
    public Task Consume(ConsumeContext<GenerateVocabulary> context) => ProduceAsync(context);

    private async Task ProduceAsync(ConsumeContext<GenerateVocabulary> context)
    {
        // Fail closed: without the filter's payload there is no proven caller, whatever the body says. (The dead-letter
        // pipe reads the same caller from the receive context for its headers.)
        if (!context.TryGetPayload(out AuthenticatedCaller? caller))
            throw new InvalidOperationException("No authenticated caller on the consume context: the authentication filter did not run.");

        var request = context.Message;
        var stored = context.TryGetPayload(out StoredAnswer? answer) ? answer.Document : await ProduceOrFindAsync(context, request, caller);
        if (stored.UserId != caller.UserId)
            throw new RequestIdReusedException("requestId is already used by another caller's request.");
        if (answer is not null)
            LogAlreadyStored(logger, request.RequestId, caller.UserId);

        // Served from here: a failure is the answer's delivery, never the request's (no rejection follows an answer).
        var served = context.ReceiveContext.GetOrAddPayload(() => new AnswerStored());
        // A replay that finds its answer stored replays a request served before it failed (its event not published, or its
        // answer not sent): its requester was answered then, or has long stopped waiting. The event goes out again.
        if (answer is not null && context.ReceiveContext.TransportHeaders.TryGetHeader(VocabHeaders.ReplayOf, out _))
            served.RequesterAnswered = true;
        // The reply and the event are the broker's work: an answer found stored frees its turn before them, as a call's does.
        if (context.TryGetPayload(out MessageTurn? turn))
            turn.GiveBack(0, called: false);
        await DeliverAsync(context, stored.ToGenerated(), served);
    }

    /// <summary>
    /// Answers the requester and publishes the result event, each once per delivery however often it is retried, each
    /// bounded by <c>Worker:SendTimeout</c>. Both wait for the broker's confirmation; waiting for them together keeps one
    /// confirm off the requester's latency.
    /// </summary>
    private async Task DeliverAsync(ConsumeContext<GenerateVocabulary> context, VocabularyGenerated result, AnswerStored served)
    {
        var reply = served.RequesterAnswered ? Task.CompletedTask : AnswerRequesterAsync(context, result, served);
        Exception? notPublished = null;
        if (!served.EventPublished)
        {
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
                bounded.CancelAfter(messaging.Value.SendTimeout);
                await context.Publish(result, bounded.Token);
                served.EventPublished = true;
            }
            catch (Exception e)
            {
                notPublished = e;
            }
        }
        // The reply's own failure, if any, comes first: retried, since its requester was not answered.
        await reply;
        if (notPublished is null)
            return;
        if (context.CancellationToken.IsCancellationRequested)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(notPublished);
        // Filed for a replay to publish; never retried here, the bound covered MassTransit's own retries.
        throw notPublished is OperationCanceledException
            ? new ResultEventNotPublishedException(result.RequestId, $"not confirmed within Worker:SendTimeout ({messaging.Value.SendTimeout})")
            : new ResultEventNotPublishedException(result.RequestId, notPublished.Message, notPublished);
    }

    private async Task AnswerRequesterAsync(ConsumeContext<GenerateVocabulary> context, VocabularyGenerated result, AnswerStored served)
    {
        if (await RequesterReply.SendAsync(context.ReceiveContext, context, result, exchanges, messaging.Value.SendTimeout))
            served.RequesterAnswered = true;
    }

    /// <summary>
    /// Produces and stores the answer of an admitted request with the charge its reservation owes (the stored answer
    /// carries it, so a later copy finding the answer has nothing to settle, and the settlement is owed by this worker, or
    /// by the orphan sweep if it dies); or, on a retry or a delivery that took over the lease, finds the answer another
    /// attempt stored meanwhile.
    /// </summary>
    private async Task<VocabularyDocument> ProduceOrFindAsync(ConsumeContext<GenerateVocabulary> context, GenerateVocabulary request, AuthenticatedCaller caller)
    {
        // No LLM call without a live reservation: only an admitted request (RequestAdmissionFilter) may pay for one.
        if (!context.TryGetPayload(out AdmittedRequest? admitted))
            throw new InvalidOperationException($"Request {request.RequestId} has no stored answer and was not admitted: refusing to call the LLM.");
        // A first attempt under a requestId this delivery claimed first has nothing stored to find (a retry may have).
        if (!admitted.NothingStored || context.GetRetryAttempt() > 0)
        {
            if (await store.FindByRequestIdAsync(request.RequestId, context.CancellationToken) is { } found)
            {
                // Stored by another attempt: this one's reservation paid for nothing.
                if (admitted.Reservation is { } unused)
                    await quotas.ReleaseAsync(unused, CancellationToken.None, admitted.TakeUnansweredCallTokens());
                admitted.Settled();
                if (StoredRequestMatch.IsAnotherRequest(found, caller.UserId, admitted.Claim.Fingerprint))
                    throw new RequestIdReusedException("requestId reused with a different request.");
                LogAlreadyStored(logger, request.RequestId, caller.UserId);
                return found;
            }
        }
        // A retry after its turn was given back (its answer could not be stored) waits for a turn again before it reserves
        // and calls again, as a first attempt does.
        var turn = context.TryGetPayload(out MessageTurn? held) ? held : null;
        if (turn is not null)
            await turn.TakeAgainIfGivenBackAsync(context.CancellationToken);

        // An earlier attempt of this delivery settled its call and then failed to store it: this call reserves again.
        if (admitted.Reservation is null)
        {
            var again = await ReserveAgainAsync(request, caller, admitted, context.CancellationToken);
            admitted.Reserved(again);
            if (context.ReceiveContext.TryGetPayload(out RequestHold? hold))
                hold.Lease.Follow(again);
        }

        ProducedVocabulary produced;
        try
        {
            // The first attempt's reuse lookup was the admission's (one query with the requestId's); a retry looks again.
            produced = await source.GetAsync(request, caller.UserId, admitted.Plan.Limits.Model, context.GetRetryAttempt() + 1, context.CancellationToken,
                context.GetRetryAttempt() == 0 ? admitted.LookedUp : null);
        }
        catch (LlmUnavailableException e) when (e.MayHaveBeenBilled)
        {
            // No usage came back, so the call is charged what it was allowed to spend: timing out is no free call.
            admitted.CallUnanswered(admitted.Reservation!.Tokens);
            throw;
        }
        var storedOwn = false;
        try
        {
            // This call's tokens, and those of this delivery's earlier calls that timed out.
            var tokens = produced.Vocabulary.Usage.TotalTokens + admitted.TakeUnansweredCallTokens();
            var reservation = admitted.Reservation!;
            // The call answered: the user's fair-share turn is charged what it used (a reused result: its time in the slot) and freed.
            turn?.GiveBack(tokens, called: !produced.Reused);
            usage.Served(admitted.Plan.Name, tokens);
            var document = ToDocument(request, caller, produced, admitted.Claim.Fingerprint,
                new StoredCharge { UsageId = reservation.UsageId, ReservedTokens = reservation.Tokens, ChargedTokens = tokens, StoredBy = reservation.Owner });
            VocabularyDocument stored;
            try
            {
                stored = await store.InsertOrGetAsync(document, context.CancellationToken);
                // Its own answer read back (an insert of several that failed half way is retried one by one) is its own too.
                storedOwn = ReferenceEquals(stored, document) || document.Charge?.IsSameDelivery(stored.Charge) == true;
            }
            catch
            {
                // Not stored, as far as this delivery knows (the insert may still have been written): the call is charged
                // now, and a retry reserves again to call again.
                await quotas.SettleAsync(reservation, tokens, CancellationToken.None, answerMayBeStored: true);
                admitted.Settled();
                throw;
            }
            if (storedOwn)
                // Stored with its charge: the settlement rides on the user's next admission (or goes within
                // Settlement:SettleWithin), one MongoDB write fewer per message; a crash leaves it to the orphan sweep.
                quotas.SettleLater(reservation, tokens);
            else
                // Another attempt stored first (and owes the reservation's settlement, or sent it): this call is charged on its own.
                await quotas.SettleAsync(reservation, tokens, CancellationToken.None);
            admitted.Settled();
            if (StoredRequestMatch.IsAnotherRequest(stored, caller.UserId, admitted.Claim.Fingerprint))
            {
                // The id was stored meanwhile for another caller or body (ids are bound per caller until stored): this caller
                // paid for its call and gets its answer, unstored; a resend under the id is refused as reused.
                LogAnsweredUnstored(logger, request.RequestId, caller.UserId);
                return document;
            }
            LogGenerated(logger, request.RequestId, caller.UserId, request.VideoId, stored.Items.Count, tokens, produced.Reused);
            return stored;
        }
        finally
        {
            if (!produced.Reused)
                source.Release(produced.ReuseKey, storedOwn ? produced.Vocabulary : null);
        }
    }

    private async Task<QuotaReservation> ReserveAgainAsync(GenerateVocabulary request, AuthenticatedCaller caller, AdmittedRequest admitted,
        CancellationToken cancellationToken)
    {
        var decision = await admission.AdmitAsync(request, caller.UserId, admitted.Plan, estimator.Estimate(request), cancellationToken, countedInMonth: admitted.Month,
            claim: admitted.Claim);
        if (decision.InFlight is not null)
            throw new RequestInProgressException("Another delivery of this requestId took it over.");
        var reservation = decision.Reservation
            ?? throw new PlanRefusedException(decision.RefusalReason ?? RejectionReasons.QuotaExceeded, $"Plan refused the request again: {decision.RefusalReason} ({decision.Detail}).")
            {
                QuotaResetsAt = decision.QuotaResetsAt,
            };
        return reservation with { Owner = admitted.Claim.Owner };
    }

    private VocabularyDocument ToDocument(GenerateVocabulary request, AuthenticatedCaller caller, ProducedVocabulary produced, string fingerprint,
        StoredCharge charge) => new()
    {
        Fingerprint = fingerprint,
        Charge = charge,
        RequestId = request.RequestId.ToString("D"),
        UserId = caller.UserId,
        VideoId = request.VideoId,
        SourceLanguage = request.SourceLanguage,
        TargetLanguage = request.TargetLanguage,
        Items = produced.Vocabulary.Items.Select(VocabularyItemDocument.From).ToList(),
        Model = produced.Vocabulary.Model,
        InputTokens = produced.Vocabulary.Usage.InputTokens,
        OutputTokens = produced.Vocabulary.Usage.OutputTokens,
        ReuseKey = produced.ReuseKey,
        PromptVersion = VocabularyPrompt.Version,
        Reused = produced.Reused,
        // Millisecond precision: what MongoDB stores, so the event and a later read agree.
        CreatedAt = DateTime.UnixEpoch.AddMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds()),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Generated {ItemCount} items for request {RequestId} of user {UserId}, video {VideoId}, {TotalTokens} tokens (reused: {Reused})")]
    private static partial void LogGenerated(ILogger logger, Guid requestId, string userId, string videoId, int itemCount, long totalTokens, bool reused);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of user {UserId} was stored meanwhile for another request under its id: answered without storing")]
    private static partial void LogAnsweredUnstored(ILogger logger, Guid requestId, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} of user {UserId} was already processed; returning the stored result")]
    private static partial void LogAlreadyStored(ILogger logger, Guid requestId, string userId);
}
