using MassTransit;
using Vocab.Contracts;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The dead-letter pipe, in place of MassTransit's: a message no consumer handles (an unknown message type) never met the
/// authentication filter, so it is filed as a refusal on the bounded <c>&lt;queue&gt;_refused</c>, metadata only (it can
/// never be replayed, and its body would be any publisher's to store). Until 2026-12-01 its body went to
/// <c>&lt;queue&gt;_skipped</c>, which ops tools still read.
/// </summary>
public sealed class ScrubbedSkippedTransportFilter(DeadLetterQueues queues, ScrubbedCopyWriter copies) : IFilter<ReceiveContext>
{
    /// <inheritdoc />
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        await copies.WriteRefusalAsync(context, queues.Refused,
        [
            new(MessageHeaders.Reason, "dead-letter"),
            new(VocabHeaders.Reason, RejectionReasons.UnhandledMessageType),
        ]);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-scrubbed-skipped-transport");
}
