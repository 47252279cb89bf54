using System.Runtime.ExceptionServices;
using MassTransit;

namespace Vocab.Worker.Filters;

/// <summary>
/// A consumer's final failure, held on the receive context until the consumer has returned. A consumer that throws makes
/// MassTransit send the requester a <c>Fault&lt;T&gt;</c>, which races the rejection it already has (a request client
/// completes with whichever its thread pool finishes first); raised again outside the consumer, by
/// <see cref="RequestAdmissionFilter{T}"/>, the failure still dead-letters the message but sends no such fault.
/// </summary>
public sealed class DeferredFailure(Exception exception)
{
    /// <summary>Holds the failure for <see cref="RequestAdmissionFilter{T}"/>.</summary>
    public static void Defer(ReceiveContext context, Exception exception) => context.GetOrAddPayload(() => new DeferredFailure(exception));

    /// <summary>Throws the held failure, if any, as it was first thrown.</summary>
    public static void ThrowIfAny(ReceiveContext context)
    {
        if (context.TryGetPayload(out DeferredFailure? failure))
            ExceptionDispatchInfo.Capture(failure.Exception).Throw();
    }

    public Exception Exception { get; } = exception;
}
