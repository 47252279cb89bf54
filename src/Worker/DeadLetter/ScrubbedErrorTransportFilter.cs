using System.Runtime.ExceptionServices;
using MassTransit;
using Vocab.Authentication;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The error pipe, in place of MassTransit's (which would also send a reason-less <c>ReceiveFault</c>): the one entry point
/// of the signed dead-letter path. Files a scrubbed, signed copy of the failed message with the fault headers and the
/// <see cref="FailureVerdict"/> the outcome filter reached (or, for a message that never reached the consume pipe, such as
/// one that is not even JSON, the verdict on its exception), and nothing a publisher could forge. What can be replayed
/// (a proven caller's failure) goes whole to <c>&lt;queue&gt;_error</c>, where nothing drops it. What cannot (a refused
/// credential or permission, or a message no caller was proven for, such as unauthenticated junk that is not even JSON)
/// keeps only its metadata on the bounded <c>&lt;queue&gt;_refused</c>, so a flood costs the broker a bounded amount of disk.
/// </summary>
public sealed class ScrubbedErrorTransportFilter(DeadLetterQueues queues, ScrubbedCopyWriter copies)
    : IFilter<ExceptionReceiveContext>
{
    /// <inheritdoc />
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        if (!context.TryGetPayload(out FailureVerdict? verdict))
        {
            // No verdict and a cancelled delivery: the transport is taking it back (node lost, worker stopping) before anything
            // was final. Filing it would leave a dead letter for a message the broker delivers again; thrown, it is nacked
            // back to the queue (or, on a closed channel, redelivered by the broker).
            if (context.CancellationToken.IsCancellationRequested)
                ExceptionDispatchInfo.Throw(context.Exception);

            context.TryGetPayload(out AuthenticatedCaller? caller);
            verdict = FailureVerdict.For(context.Exception, caller);
        }
        verdict.WriteTo(context.ExceptionHeaders);
        IEnumerable<KeyValuePair<string, object?>> metadata = context.ExceptionHeaders.GetAll()!;
        // vocabctl replays a copy on behalf of the caller the worker proved; without one, or after a credential refusal, never.
        if (verdict.IsRefusal)
            await copies.WriteRefusalAsync(context, queues.Refused, metadata);
        else
            await copies.WriteAsync(context, queues.Error, metadata);
        // Marks the delivery faulted (as MassTransit's own error transport does): otherwise, being neither consumed nor
        // faulted, it would also be filed as skipped.
        await context.NotifyFaulted(context.Exception);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-scrubbed-error-transport");
}
