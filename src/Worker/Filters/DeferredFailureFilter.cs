using MassTransit;

namespace Vocab.Worker.Filters;

/// <summary>Raises a consumer's <see cref="DeferredFailure"/> once the consumer has returned, so the error pipe dead-letters the message.</summary>
public sealed class DeferredFailureFilter<T> : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        await next.Send(context);
        DeferredFailure.ThrowIfAny(context.ReceiveContext);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-deferred-failure");
}
