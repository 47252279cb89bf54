using System.ComponentModel.DataAnnotations;

namespace Vocab.Plans;

/// <summary><c>RateLimits:*</c>: the window a plan's <c>RequestsPerMinute</c> counts in, and how long the bus may delay a message.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "RateLimits:Window must be between 1 second and 1 hour.")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The longest a message over the rate waits on the bus before it is refused as rate_limited.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "RateLimits:MaxDelay must be between 0 and 1 day.")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(10);
}
