using System.ClientModel.Primitives;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Vocab.Worker.Llm;

/// <summary>
/// How long a provider asked to be left alone: <c>Retry-After</c> (seconds or an HTTP date), else OpenAI's
/// <c>x-ratelimit-reset-requests</c> / <c>-tokens</c> (durations such as <c>1s</c>, <c>6m0s</c>, <c>120ms</c>).
/// </summary>
public static partial class ProviderRetryAfter
{
    /// <summary>The longest wait read from a header; anything longer (or unreadable as a duration) is clamped to it, never thrown on.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(1);

    /// <summary>The wait the response asks for; null when it names none.</summary>
    public static TimeSpan? From(PipelineResponse? response, DateTimeOffset now)
    {
        if (response is null)
            return null;
        if (response.Headers.TryGetValue("Retry-After", out var retryAfter) && retryAfter is not null)
        {
            if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
                return seconds >= Longest.TotalSeconds ? Longest : TimeSpan.FromSeconds(seconds);
            if (DateTimeOffset.TryParse(retryAfter, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
                return date > now ? Min(date - now, Longest) : TimeSpan.Zero;
        }
        var resets = new[] { "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens" }
            .Select(h => response.Headers.TryGetValue(h, out var v) ? Duration(v) : null)
            .OfType<TimeSpan>().ToList();
        return resets.Count > 0 ? resets.Max() : null;
    }

    private static TimeSpan? Duration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var parts = DurationPart().Matches(text);
        if (parts.Count == 0)
            return null;
        var seconds = 0.0;
        foreach (Match part in parts)
        {
            var value = double.Parse(part.Groups["value"].Value, CultureInfo.InvariantCulture);
            seconds += part.Groups["unit"].Value switch
            {
                "h" => value * 3600,
                "m" => value * 60,
                "ms" => value / 1000,
                _ => value,
            };
        }
        return seconds >= Longest.TotalSeconds || double.IsNaN(seconds) ? Longest : TimeSpan.FromSeconds(seconds);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [GeneratedRegex("(?<value>[0-9]+(?:\\.[0-9]+)?)(?<unit>ms|h|m|s)", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPart();
}
