using System.ComponentModel.DataAnnotations;

namespace Vocab.HttpBridge;

/// <summary>The bridge's settings: <c>ConnectionStrings:RabbitMq</c> and <c>Bridge:*</c>.</summary>
public sealed class BridgeOptions
{
    public const string SectionName = "Bridge";

    [Required(ErrorMessage = "ConnectionStrings:RabbitMq is required (e.g. amqp://vocab-bridge:password@localhost:5672/).")]
    public string RabbitMqConnectionString { get; set; } = "";

    /// <summary>The worker's queue.</summary>
    [Required(ErrorMessage = "Bridge:QueueName is required.")]
    public string QueueName { get; set; } = "generate-vocabulary";

    /// <summary>How long a caller waits for the worker before a 504.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Bridge:RequestTimeout must be between 100 ms and 10 minutes.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Requests per user per minute before a 429.</summary>
    [Range(1, 100_000, ErrorMessage = "Bridge:PermitsPerMinute must be between 1 and 100000.")]
    public int PermitsPerMinute { get; set; } = 60;

    /// <summary>Failed authentications per client address per minute before a 429 that comes before any lookup.</summary>
    [Range(1, 100_000, ErrorMessage = "Bridge:FailedAuthenticationsPerMinute must be between 1 and 100000.")]
    public int FailedAuthenticationsPerMinute { get; set; } = 30;
}
