using System.Text.Json;

namespace Vocab.TestSupport;

/// <summary>One answer of <see cref="FakeLlmServer"/>.</summary>
public sealed record FakeLlmAnswer(int Status, string Content, TimeSpan Delay)
{
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
