using System.Globalization;
using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Plans;
using Vocab.Vocabularies;
using Vocab.Worker.Filters;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.FairShare;

/// <summary>
/// After authentication, before admission: where a request waits for its user's fair turn. A request whose user already
/// holds its bound of this worker's messages (<see cref="FairShareScheduler.TryHold"/>) is parked on a delay queue until
/// its turn is due, before anything is claimed or reserved, and the worker takes the next message: one user's burst
/// leaves the shared input queue at the speed of a publish. A held request waits in memory for a turn
/// (<see cref="FairShareScheduler.EnterAsync"/>, <c>Llm:MaxConcurrentCalls</c> at once), and only then goes through
/// admission (MongoDB) and the LLM call, so a burst's waiting requests neither hold reservations nor queue up in
/// MongoDB ahead of another user's. The turn is charged what calls have used lately until the consumer settles it to
/// what the call used (for none, such as a refusal or a reused result: its time in the slot), and ends when the call answers (<see cref="MessageTurn"/>).
/// </summary>
public sealed partial class FairShareFilter<T>(FairShareScheduler scheduler, PlanCatalog plans, RequestTokenEstimator estimator,
    DelayParking parking, TimeProvider time, FairShareMetrics metrics, ILogger<FairShareFilter<T>> logger)
    : IFilter<ConsumeContext<T>>
    where T : class
{
    /// <summary>When a parked message is due back (Unix milliseconds), so a message that comes back early keeps its place.</summary>
    public const string DueHeader = "X-Vocab-Fair-Due-Ms";

    // A due time further ahead than this is not believed (the header is the publisher's to forge, if only to its own cost).
    private static readonly TimeSpan LatestDue = TimeSpan.FromHours(1);

    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        // Other message types, unproven callers and roles without a plan go on: the filters after this one refuse them.
        if (context.Message is not GenerateVocabulary request || !context.TryGetPayload(out AuthenticatedCaller? caller)
            || plans.ForRole(caller.Role) is not { } plan)
        {
            await next.Send(context);
            return;
        }

        var who = new ShareKey(caller.UserId, plan.Limits.Weight);
        using var hold = scheduler.TryHold(who);
        if (hold is null)
        {
            await ParkAsync(context, request, who);
            return;
        }
        var estimate = estimator.Estimate(request);
        using var turn = new MessageTurn(await metrics.TimeTurnAsync(plan.Name, scheduler.EnterAsync(who, estimate, context.CancellationToken)),
            cancellationToken => metrics.TimeTurnAsync(plan.Name, scheduler.EnterAsync(who, estimate, cancellationToken)));
        context.AddOrUpdatePayload(() => turn, _ => turn);
        try
        {
            await next.Send(context);
        }
        catch (Exception e)
        {
            // Failed after calls that were paid for (unusable answers, calls that timed out): they count against the user's
            // share as they do against its quota (read here, charged by the outcome filter).
            var unanswered = context.ReceiveContext.TryGetPayload(out RequestHold? requestHold) ? requestHold.Admitted.UnansweredCallTokens : 0;
            turn.Settle((FailureVerdict.Find<LlmInvalidOutputException>(e)?.SpentTokens ?? 0) + unanswered);
            throw;
        }
        finally
        {
            // Not given back by the consumer (refused, parked, invalid): no LLM tokens spent, charged its time in the slot.
            turn.Settle(0);
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-fair-share");

    private async Task ParkAsync(ConsumeContext<T> context, GenerateVocabulary request, ShareKey who)
    {
        var due = scheduler.ParkUntil(who, DueOf(context.ReceiveContext));
        var wait = due - time.GetUtcNow();
        var step = RateDelay.FairShareSteps.LastOrDefault(s => s <= wait, RateDelay.FairShareSteps[0]);
        await parking.ParkAsync(context.ReceiveContext, step, headers => headers[DueHeader] = due.ToUnixTimeMilliseconds());
        metrics.Parked();
        LogParked(logger, request.RequestId, who.UserId, step.TotalSeconds);
        // Handled here: without this the message would count as unconsumed and be filed as unhandled.
        await context.NotifyConsumed(context, TimeSpan.Zero, "vocab-fair-share");
    }

    // A publisher can set this header too: the worst it buys is its own message waiting longer (up to LatestDue).
    private DateTimeOffset? DueOf(ReceiveContext context)
    {
        if (!context.TransportHeaders.TryGetHeader(DueHeader, out var value)
            || !long.TryParse(HeaderText.Of(value), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
            return null;
        var due = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(ms, 0, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()));
        var latest = time.GetUtcNow() + LatestDue;
        return due > latest ? latest : due;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {RequestId} of user {UserId} is over its fair share here: parked for {Seconds} s")]
    private static partial void LogParked(ILogger logger, Guid requestId, string userId, double seconds);
}
