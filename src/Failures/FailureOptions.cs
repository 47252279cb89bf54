using System.ComponentModel.DataAnnotations;

namespace Vocab.Failures;

/// <summary>The failure store's settings (<c>Ops:*</c>), shared by the ops console's ingestor and vocabctl.</summary>
public sealed class FailureOptions
{
    public const string SectionName = "Ops";

    /// <summary>How long a failure is kept after it is ingested (a TTL index removes it then).</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00", ErrorMessage = "Ops:FailureRetention must be between 1 hour and 3650 days.")]
    public TimeSpan FailureRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The worker's input queue; its <c>_error</c> and <c>_refused</c> queues are ingested.</summary>
    [Required(ErrorMessage = "Ops:QueueName is required.")]
    [RegularExpression("^[A-Za-z0-9._:-]{1,200}$", ErrorMessage = "Ops:QueueName must be a queue name (letters, digits, '.', '_', ':', '-').")]
    public string QueueName { get; set; } = "generate-vocabulary";

    /// <summary>How many deliveries the ingestor holds unacknowledged at once.</summary>
    [Range(1, 1000, ErrorMessage = "Ops:IngestPrefetch must be between 1 and 1000.")]
    public ushort IngestPrefetch { get; set; } = 50;

    /// <summary>The most replays published per second, by vocabctl and the console alike.</summary>
    [Range(0.1, 10_000, ErrorMessage = "Ops:ReplaysPerSecond must be between 0.1 and 10000.")]
    public double ReplaysPerSecond { get; set; } = 20;
}
