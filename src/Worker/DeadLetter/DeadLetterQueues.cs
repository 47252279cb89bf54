using Microsoft.Extensions.Options;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>The queues the worker files dead-lettered copies on, named after its input queue and declared as its settings say.</summary>
public sealed class DeadLetterQueues(IOptions<MessagingOptions> messaging, IOptions<DeadLetterOptions> deadLetters)
{
    /// <summary>Failures of a proven caller's message: <c>&lt;queue&gt;_error</c>, nothing drops them.</summary>
    public FilingQueue Error { get; } = new(messaging.Value.ErrorQueueName, messaging.Value.DeclaredQueueArguments);

    /// <summary>
    /// Whatever no proven caller sent (credential and permission refusals, unknown message types, what the broker
    /// dead-lettered), metadata only, bounded: <c>&lt;queue&gt;_refused</c>.
    /// </summary>
    public FilingQueue Refused { get; } = deadLetters.Value.RefusedQueue(messaging.Value);
}
