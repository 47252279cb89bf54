using System.ComponentModel.DataAnnotations;

namespace Vocab.Worker.Settlement;

/// <summary>When a served request's settlement goes to MongoDB: <c>Settlement:*</c>.</summary>
public sealed class SettlementOptions
{
    public const string SectionName = "Settlement";

    /// <summary>
    /// How long a settlement may wait to ride on its user's next admission before it goes on its own. Until then the
    /// user's usage shows the request's reservation instead of its actual tokens.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "Settlement:SettleWithin must be between 10 ms and 1 minute.")]
    public TimeSpan SettleWithin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often this worker looks for settlements a dead worker owed (answers stored more than 10 minutes ago, reservations still open).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Settlement:OrphanSweepEvery must be between 1 second and 1 hour.")]
    public TimeSpan OrphanSweepEvery { get; set; } = TimeSpan.FromMinutes(1);
}
