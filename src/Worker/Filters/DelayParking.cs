using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Filters;

/// <summary>
/// Parks a message on the worker's delay queue of a step (<see cref="RateDelay.SendAsync"/>) and has the sweep watch that
/// queue (<see cref="DelayQueueSweeper.Watch"/>): the one way the filters park.
/// </summary>
public sealed class DelayParking(IOptions<MessagingOptions> messaging, DelayQueueSweeper sweeper, TimeProvider time)
{
    /// <summary>Parks the received message for <paramref name="step"/>; <paramref name="stamp"/> as in <see cref="RateDelay.SendAsync"/>.</summary>
    public async Task ParkAsync(ReceiveContext context, TimeSpan step, Action<IDictionary<string, object?>>? stamp = null)
    {
        var options = messaging.Value;
        await RateDelay.SendAsync(context, options.QueueName, options.DeclaredQueueArguments, step, time, stamp);
        sweeper.Watch(step);
    }
}
