using MassTransit;

namespace Vocab.Worker.DeadLetter;

/// <summary>Error-pipe filter: everything after it (fault, error transport) sees the message without its credentials.</summary>
public sealed class CredentialScrubbingFilter : IFilter<ExceptionReceiveContext>
{
    /// <inheritdoc />
    public Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next) =>
        next.Send(ScrubbedExceptionReceiveContext.Wrap(context));

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-credential-scrubbing");
}
