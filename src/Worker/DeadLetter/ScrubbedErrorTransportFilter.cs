using MassTransit;
using Vocab.Contracts;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The error pipe's last step, in place of MassTransit's error transport: files a scrubbed, signed copy of the failed
/// message with the fault headers and the reason the pipe set, and nothing a publisher could forge. What can be replayed
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
        IEnumerable<KeyValuePair<string, object?>> metadata = context.ExceptionHeaders.GetAll()!;
        if (IsRefusal(context))
            await copies.WriteRefusalAsync(context, queues.Refused, metadata);
        else
            await copies.WriteAsync(context, queues.Error, metadata);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-scrubbed-error-transport");

    // vocabctl replays a copy on behalf of the caller the worker proved; without one, or after a credential refusal, never.
    private static bool IsRefusal(ExceptionReceiveContext context) =>
        !context.ExceptionHeaders.TryGetHeader(VocabHeaders.UserId, out _) ||
        (context.ExceptionHeaders.TryGetHeader(VocabHeaders.Reason, out var reason) && reason is string code &&
         RejectionReasons.CredentialReasons.Contains(code));
}
