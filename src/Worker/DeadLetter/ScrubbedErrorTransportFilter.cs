using MassTransit;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The error pipe's last step, in place of MassTransit's error transport: files a scrubbed copy of the failed message on
/// <c>&lt;queue&gt;_error</c> with the fault headers and the reason the pipe set, and nothing a publisher could forge.
/// </summary>
public sealed class ScrubbedErrorTransportFilter(FilingQueue errorQueue) : IFilter<ExceptionReceiveContext>
{
    /// <inheritdoc />
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        await ScrubbedCopyWriter.WriteAsync(context, errorQueue, context.ExceptionHeaders.GetAll()!);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-scrubbed-error-transport");
}
