using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Filters;

/// <summary>
/// After authentication, holds a request to the caller's plan: refused when the plan forbids it or its month's quota is
/// spent (dead-lettered with the reason, never retried); over the rate, sent back to the queue after the window
/// instead, until it has waited RateLimits:MaxDelay.
/// </summary>
public sealed partial class PlanFilter<T>(PlanAdmission admission, IOptions<RateLimitOptions> rateOptions,
    IOptions<Messaging.MessagingOptions> messaging, ILogger<PlanFilter<T>> logger) : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        // A malformed request is the consumer's to refuse (invalid_request); it costs the plan nothing.
        if (context.Message is not GenerateVocabulary request || !context.TryGetPayload(out AuthenticatedCaller? caller) ||
            GenerateVocabularyRules.Validate(request).Count > 0)
        {
            await next.Send(context);
            return;
        }

        var decision = await admission.AdmitAsync(request, caller.UserId, caller.Role, context.CancellationToken);
        if (decision.Admitted)
        {
            context.AddOrUpdatePayload(() => new AdmittedRequest(decision.Plan!), _ => new AdmittedRequest(decision.Plan!));
            await next.Send(context);
            return;
        }

        if (decision.RefusalReason == RejectionReasons.RateLimited && decision.Rate is { } rate)
        {
            var step = RateDelay.StepFor(rate.ResetAfter);
            if (RateDelay.AlreadyDelayed(context.ReceiveContext) + step <= rateOptions.Value.MaxDelay)
            {
                await RateDelay.SendAsync(context.ReceiveContext, messaging.Value.QueueName, messaging.Value.DeclaredQueueArguments, step);
                LogDelayed(logger, request.RequestId, caller.UserId, step.TotalSeconds);
                // Handled here: without this the message would count as unconsumed and go to _skipped.
                await context.NotifyConsumed(context, TimeSpan.Zero, "vocab-rate-delay");
                return;
            }
        }

        LogRefused(logger, request.RequestId, caller.UserId, decision.RefusalReason!, decision.Detail!);
        await RejectionReply.SendAsync(context.ReceiveContext, context, request, decision.RefusalReason!,
            retryAfterSeconds: decision.Rate is { Allowed: false } r ? (int)Math.Ceiling(r.ResetAfter.TotalSeconds) : null,
            quotaResetsAt: decision.RefusalReason == RejectionReasons.QuotaExceeded ? decision.QuotaResetsAt : null);
        throw new PlanRefusedException(decision.RefusalReason!, $"Plan refused the request: {decision.RefusalReason} ({decision.Detail}).");
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-plan");

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} of user {UserId} is over its rate: back on the queue in {Seconds} s")]
    private static partial void LogDelayed(ILogger logger, Guid requestId, string userId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of user {UserId} refused by its plan: {Reason} ({Detail})")]
    private static partial void LogRefused(ILogger logger, Guid requestId, string userId, string reason, string detail);
}
