using System.Text.Json;

namespace Vocab.TestSupport;

/// <summary>One answer of <see cref="FakeLlmServer"/>.</summary>
public sealed record FakeLlmAnswer(int Status, string Content, TimeSpan Delay, IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>A 200 answer whose message content is exactly this text.</summary>
    public static FakeLlmAnswer Text(string content) => new(200, content, TimeSpan.Zero);

    /// <summary>The provider's rate limit: 429 with Retry-After.</summary>
    public static FakeLlmAnswer RateLimited(TimeSpan retryAfter) =>
        new(429, "", TimeSpan.Zero, new Dictionary<string, string> { ["Retry-After"] = ((int)retryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) });

    /// <summary>The items as the model would write them: <c>{"items":[...]}</c>.</summary>
    public static string ItemsJson(params (string Word, string Meaning, string PartOfSpeech, string Example)[] items) => JsonSerializer.Serialize(new
    {
        items = items.Select(i => new { word = i.Word, meaning = i.Meaning, partOfSpeech = i.PartOfSpeech, example = i.Example }),
    });

    public static FakeLlmAnswer Items(int count) => new(200, JsonSerializer.Serialize(new
    {
        items = Enumerable.Range(1, count).Select(i => new
        {
            word = $"word{i}", meaning = $"meaning{i}", partOfSpeech = "noun", example = $"An example with word{i}.",
        }),
    }), TimeSpan.Zero);

    public static FakeLlmAnswer Garbage => new(200, "Sure! Here are some words: apple, banana.", TimeSpan.Zero);

    public static FakeLlmAnswer ServerError => new(500, "", TimeSpan.Zero);

    public static FakeLlmAnswer Slow(TimeSpan delay) => Items(1) with { Delay = delay };
}
