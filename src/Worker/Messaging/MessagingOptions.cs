using System.ComponentModel.DataAnnotations;

namespace Vocab.Worker.Messaging;

/// <summary>The worker's broker settings: <c>ConnectionStrings:RabbitMq</c> and <c>Worker:*</c>.</summary>
public sealed class MessagingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Worker";

    /// <summary>From <c>ConnectionStrings:RabbitMq</c>, e.g. <c>amqp://user:pass@host:5672/vhost</c>.</summary>
    [Required(ErrorMessage = "ConnectionStrings:RabbitMq is required (e.g. amqp://guest:guest@localhost:5672/).")]
    public string ConnectionString { get; set; } = "";

    /// <summary>The durable queue publishers send to; failures go to <c>&lt;queue&gt;_error</c>.</summary>
    [Required(ErrorMessage = "Worker:QueueName is required.")]
    public string QueueName { get; set; } = "generate-vocabulary";

    /// <summary>Failed messages, scrubbed, with a reason.</summary>
    public string ErrorQueueName => QueueName + "_error";

    /// <summary>Messages of a type no consumer handles, scrubbed.</summary>
    public string SkippedQueueName => QueueName + "_skipped";

    /// <summary>Where the broker dead-letters the input queue's expired and rejected messages; only the worker reads it.</summary>
    public string QuarantineQueueName => QueueName + "_quarantine";

    [Range(1, 10_000, ErrorMessage = "Worker:PrefetchCount must be between 1 and 10000.")]
    public int PrefetchCount { get; set; } = 32;

    [Range(1, 10_000, ErrorMessage = "Worker:ConcurrentMessageLimit must be between 1 and 10000.")]
    public int ConcurrentMessageLimit { get; set; } = 16;
}
