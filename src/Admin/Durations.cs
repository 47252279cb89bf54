using System.Globalization;

namespace Vocab.Admin;

/// <summary>Reads "30d", "12h", "90m", "45s", a TimeSpan ("1.00:00:00") or an absolute date for --expires, --grace and --ttl.</summary>
public static class Durations
{
    /// <summary>The duration; throws <see cref="FormatException"/> naming the option when unreadable.</summary>
    public static TimeSpan ParseDuration(string value, string option)
    {
        if (value.Length > 1 && double.TryParse(value[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            switch (char.ToLowerInvariant(value[^1]))
            {
                case 'd': return TimeSpan.FromDays(amount);
                case 'h': return TimeSpan.FromHours(amount);
                case 'm': return TimeSpan.FromMinutes(amount);
                case 's': return TimeSpan.FromSeconds(amount);
            }
        }
        if (TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
            return span;
        throw new FormatException($"{option}: '{value}' is not a duration such as 30d, 12h, 90m or 45s.");
    }

    /// <summary>An absolute UTC time: a date, or now plus a duration.</summary>
    public static DateTime ParseExpiry(string value, string option, DateTime now)
    {
        if (DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date) &&
            value.Contains('-', StringComparison.Ordinal))
            return date;
        return now + ParseDuration(value, option);
    }
}
