using System.Globalization;

namespace Vocab.Plans;

/// <summary>Whether a request fits the rate window, and what the <c>RateLimit</c> headers should say.</summary>
public sealed record RateDecision(bool Allowed, int Limit, int Remaining, TimeSpan ResetAfter, TimeSpan Window)
{
    /// <summary>The IETF draft <c>RateLimit-Policy</c> value: <c>"plan";q=limit;w=window seconds</c>.</summary>
    public string PolicyHeader => string.Create(CultureInfo.InvariantCulture, $"\"plan\";q={Limit};w={(int)Window.TotalSeconds}");

    /// <summary>The IETF draft <c>RateLimit</c> value: <c>"plan";r=remaining;t=seconds until the window resets</c>.</summary>
    public string StatusHeader => string.Create(CultureInfo.InvariantCulture, $"\"plan\";r={Remaining};t={(int)Math.Ceiling(ResetAfter.TotalSeconds)}");
}
