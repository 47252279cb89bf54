using MassTransit;
using Vocab.Contracts;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The dead-letter pipe, in place of MassTransit's: a message no consumer handles (an unknown message type) is filed
/// on <c>&lt;queue&gt;_skipped</c> as a scrubbed copy, since it never met the authentication filter.
/// </summary>
public sealed class ScrubbedSkippedTransportFilter(DeadLetterQueues queues, ScrubbedCopyWriter copies) : IFilter<ReceiveContext>
{
    /// <inheritdoc />
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        await copies.WriteAsync(context, queues.Skipped,
        [
            new(MessageHeaders.Reason, "dead-letter"),
            new(VocabHeaders.Reason, RejectionReasons.UnhandledMessageType),
        ]);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-scrubbed-skipped-transport");
}
