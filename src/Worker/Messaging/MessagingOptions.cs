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

    [Range(1, 10_000, ErrorMessage = "Worker:PrefetchCount must be between 1 and 10000.")]
    public int PrefetchCount { get; set; } = 32;

    [Range(1, 10_000, ErrorMessage = "Worker:ConcurrentMessageLimit must be between 1 and 10000.")]
    public int ConcurrentMessageLimit { get; set; } = 16;
}
