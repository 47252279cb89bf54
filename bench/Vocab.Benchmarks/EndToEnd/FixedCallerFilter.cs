using MassTransit;
using Vocab.Authentication;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>The no-authentication baseline: puts a fixed caller where the authentication filter would, checking nothing.</summary>
public sealed class FixedCallerFilter<T> : IFilter<ConsumeContext<T>> where T : class
{
    private static readonly AuthenticatedCaller Caller = new("bench-user", Roles.User, AuthenticationMethods.None, null, null);

    public Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        context.AddOrUpdatePayload(() => Caller, _ => Caller);
        context.ReceiveContext.AddOrUpdatePayload(() => Caller, _ => Caller);
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("bench-fixed-caller");
}
