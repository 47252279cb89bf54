using System.Globalization;

namespace Vocab.Failures;

/// <summary>The position of a listed failure (its time, then its id): the next page starts after it.</summary>
public sealed record FailureCursor(DateTime FailedAt, string Id)
{
    /// <summary>As text for a link: ticks and id.</summary>
    public override string ToString() => $"{FailedAt.Ticks.ToString(CultureInfo.InvariantCulture)}_{Id}";

    /// <summary>Reads <see cref="ToString"/>'s form; null when it is not that.</summary>
    public static FailureCursor? Parse(string? text)
    {
        var at = text?.IndexOf('_', StringComparison.Ordinal) ?? -1;
        if (text is null || at <= 0)
            return null;
        return long.TryParse(text.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) &&
               ticks is >= 0 and <= 3155378975999999999
            ? new FailureCursor(new DateTime(ticks, DateTimeKind.Utc), text[(at + 1)..])
            : null;
    }
}
