using MassTransit;
using MassTransit.Middleware;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// MassTransit's <see cref="GenerateFaultFilter"/>, except where the requester already has our rejection with its reason
/// (a message refused by a filter, before any consumer): there MassTransit's reason-less <see cref="ReceiveFault"/> would
/// only be a second answer, which a request client does not handle. Everywhere else (no requester, a separate fault
/// address) it is sent or published as usual.
/// </summary>
public sealed class FaultUnlessRejectedFilter : IFilter<ExceptionReceiveContext>
{
    private readonly GenerateFaultFilter _faults = new();

    public Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next) =>
        RejectionReply.ReachedRequester(context) ? next.Send(context) : _faults.Send(context, next);

    public void Probe(ProbeContext context) => _faults.Probe(context);
}
