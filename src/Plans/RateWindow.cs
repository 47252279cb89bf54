namespace Vocab.Plans;

/// <summary>A plan's request rate: at most <paramref name="Limit"/> requests per fixed window of <paramref name="Length"/>.</summary>
public sealed record RateWindow(int Limit, TimeSpan Length)
{
    /// <summary>The window that holds <paramref name="now"/>: its index since the epoch, and when it ends.</summary>
    public (long Index, DateTimeOffset End) At(DateTimeOffset now) => Numbered(now.ToUnixTimeMilliseconds() / (long)Length.TotalMilliseconds);

    /// <summary>The window of index <paramref name="index"/>, and when it ends.</summary>
    public (long Index, DateTimeOffset End) Numbered(long index) =>
        (index, DateTimeOffset.FromUnixTimeMilliseconds((index + 1) * (long)Length.TotalMilliseconds));
}
