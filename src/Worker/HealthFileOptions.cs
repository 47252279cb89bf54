using System.ComponentModel.DataAnnotations;

namespace Vocab.Worker;

/// <summary>Where and how often the worker reports its readiness for container health checks: <c>Health:*</c>.</summary>
public sealed class HealthFileOptions
{
    public const string SectionName = "Health";

    /// <summary>The file touched while ready; unset disables the reporter.</summary>
    public string? FilePath { get; set; }

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Health:Interval must be between 1 second and 10 minutes.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);
}
