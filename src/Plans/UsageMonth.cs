namespace Vocab.Plans;

/// <summary>Quotas run by calendar month in UTC: they reset at 00:00 UTC on the 1st.</summary>
public static class UsageMonth
{
    /// <summary>The month's key, <c>yyyy-MM</c>.</summary>
    public static string Of(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>When the month that holds <paramref name="time"/> ends.</summary>
    public static DateTimeOffset ResetsAt(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
    }
}
