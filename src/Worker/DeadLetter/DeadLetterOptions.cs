using System.ComponentModel.DataAnnotations;
using Vocab.Messaging;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The worker's dead-letter settings besides the signing key (<see cref="Vocab.Messaging.DeadLetters.DeadLetterSigningOptions"/>,
/// the same <c>DeadLetter</c> section): how many refusals the <c>_refused</c> audit queue keeps.
/// </summary>
public sealed class DeadLetterOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DeadLetter";

    /// <summary>
    /// Refused messages kept; beyond it the broker drops the oldest. The broker policy in rabbitmq/definitions.json caps it
    /// too (the lower bound wins), so raising it past the policy's 10,000 means raising both.
    /// </summary>
    [Range(1, 10_000_000, ErrorMessage = "DeadLetter:RefusedQueueMaxLength must be between 1 and 10000000.")]
    public int RefusedQueueMaxLength { get; set; } = 10_000;

    /// <summary>The queue credential and permission failures are filed on: metadata only, bounded, oldest dropped first.</summary>
    public FilingQueue RefusedQueue(MessagingOptions messaging) => new(QueueNames.Refused(messaging.QueueName),
        new Dictionary<string, object>(messaging.DeclaredQueueArguments)
        {
            ["x-max-length"] = RefusedQueueMaxLength,
            ["x-overflow"] = "drop-head",
        });
}
