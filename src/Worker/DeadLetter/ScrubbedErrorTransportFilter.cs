using MassTransit;
using Vocab.Contracts;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The error pipe's last step, in place of MassTransit's error transport: files a scrubbed, signed copy of the failed
/// message with the fault headers and the reason the pipe set, and nothing a publisher could forge. What can be replayed
/// goes whole to <c>&lt;queue&gt;_error</c>, where nothing drops it; a credential or permission refusal cannot be replayed
/// (its credential is gone), so only its metadata goes to the bounded <c>&lt;queue&gt;_refused</c>, and a flood of junk
/// costs the broker a bounded amount of disk.
/// </summary>
public sealed class ScrubbedErrorTransportFilter(FilingQueue errorQueue, FilingQueue refusedQueue, ScrubbedCopyWriter copies)
    : IFilter<ExceptionReceiveContext>
{
    /// <inheritdoc />
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        IEnumerable<KeyValuePair<string, object?>> metadata = context.ExceptionHeaders.GetAll()!;
        if (IsRefusal(context))
            await copies.WriteRefusalAsync(context, refusedQueue, metadata);
        else
            await copies.WriteAsync(context, errorQueue, metadata);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-scrubbed-error-transport");

    private static bool IsRefusal(ExceptionReceiveContext context) =>
        context.ExceptionHeaders.TryGetHeader(VocabHeaders.Reason, out var reason) &&
        reason is string code && RejectionReasons.CredentialReasons.Contains(code);
}
