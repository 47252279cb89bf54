using MassTransit;
using MassTransit.Context;

namespace Vocab.Worker.Outcome;

/// <summary>
/// The consume context the pipeline below <see cref="RequestOutcomeFilter{T}"/> sees. A consumer that throws makes
/// MassTransit send the requester a reason-less <c>Fault&lt;T&gt;</c>, which races the rejection the outcome filter sends (a
/// request client completes with whichever arrives first): here the failure is only reported to the observers, and the
/// outcome filter alone answers.
/// </summary>
public sealed class FaultlessConsumeContext<T>(ConsumeContext<T> context) : ConsumeContextProxy<T>(context)
    where T : class
{
    public override Task NotifyFaulted<TMessage>(ConsumeContext<TMessage> context, TimeSpan duration, string consumerType, Exception exception) =>
        ReceiveContext.NotifyFaulted(context, duration, consumerType, exception);
}
