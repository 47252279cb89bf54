using Microsoft.Extensions.Options;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>The queues the worker files dead-lettered copies on, named after its input queue and declared as its settings say.</summary>
public sealed class DeadLetterQueues(IOptions<MessagingOptions> messaging, IOptions<DeadLetterOptions> deadLetters)
{
    /// <summary>Failures of a proven caller's message: <c>&lt;queue&gt;_error</c>, nothing drops them.</summary>
    public FilingQueue Error { get; } = new(messaging.Value.ErrorQueueName, messaging.Value.DeclaredQueueArguments);

    /// <summary>Credential and permission refusals, metadata only, bounded: <c>&lt;queue&gt;_refused</c>.</summary>
    public FilingQueue Refused { get; } = deadLetters.Value.RefusedQueue(messaging.Value);

    /// <summary>Messages of a type no consumer handles: <c>&lt;queue&gt;_skipped</c>.</summary>
    public FilingQueue Skipped { get; } = new(messaging.Value.SkippedQueueName, messaging.Value.DeclaredQueueArguments);
}
