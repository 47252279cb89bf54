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
    /// <summary>The wait the response asks for; null when it names none.</summary>
    public static TimeSpan? From(PipelineResponse? response, DateTimeOffset now)
    {
        if (response is null)
            return null;
        if (response.Headers.TryGetValue("Retry-After", out var retryAfter) && retryAfter is not null)
        {
            if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
                return TimeSpan.FromSeconds(seconds);
            if (DateTimeOffset.TryParse(retryAfter, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
                return date > now ? date - now : TimeSpan.Zero;
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
        var total = TimeSpan.Zero;
        foreach (Match part in parts)
        {
            var value = double.Parse(part.Groups["value"].Value, CultureInfo.InvariantCulture);
            total += part.Groups["unit"].Value switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                _ => TimeSpan.FromSeconds(value),
            };
        }
        return total;
    }

    [GeneratedRegex("(?<value>[0-9]+(?:\\.[0-9]+)?)(?<unit>ms|h|m|s)", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPart();
}
