using System.Text.Json;
using Vocab.Contracts;

namespace Vocab.Worker.Llm;

/// <summary>Reads the LLM's <c>{"items":[{word, meaning, partOfSpeech, example}]}</c> answer and refuses anything unusable.</summary>
public static class VocabularyResponseParser
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The items, or <see cref="LlmInvalidOutputException"/> saying what was wrong (never echoing the answer).</summary>
    public static IReadOnlyList<VocabularyItem> Parse(string? text, int maxItems)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new LlmInvalidOutputException("The LLM returned an empty answer.");

        Answer? answer;
        try
        {
            answer = JsonSerializer.Deserialize<Answer>(StripCodeFence(text), Json);
        }
        catch (JsonException e)
        {
            // Not kept as the inner exception: the retry policy ignores JsonException (malformed messages), and a
            // model's bad answer must still be retried.
            throw new LlmInvalidOutputException($"The LLM's answer is not JSON ({e.GetType().Name} at byte {e.BytePositionInLine}).");
        }

        var items = answer?.Items;
        if (items is null || items.Count == 0)
            throw new LlmInvalidOutputException("The LLM's answer has no items.");
        if (items.Count > maxItems)
            throw new LlmInvalidOutputException($"The LLM returned {items.Count} items; at most {maxItems} were asked for.");
        if (items.Any(i => i is null || IsBlank(i.Word) || IsBlank(i.Meaning) || IsBlank(i.PartOfSpeech) || IsBlank(i.Example)))
            throw new LlmInvalidOutputException("An item of the LLM's answer has an empty field.");

        return items.Select(i => new VocabularyItem
        {
            Word = i!.Word!.Trim(), Meaning = i.Meaning!.Trim(), PartOfSpeech = i.PartOfSpeech!.Trim(), Example = i.Example!.Trim(),
        }).ToList();
    }

    private static bool IsBlank(string? value) => string.IsNullOrWhiteSpace(value);

    // Some models wrap JSON in a Markdown fence even when asked not to.
    private static string StripCodeFence(string text)
    {
        var trimmed = text.Trim();
        if (!trimmed.StartsWith("```", StringComparison.Ordinal))
            return trimmed;
        var firstNewLine = trimmed.IndexOf('\n');
        var lastFence = trimmed.LastIndexOf("```", StringComparison.Ordinal);
        return firstNewLine > 0 && lastFence > firstNewLine ? trimmed[(firstNewLine + 1)..lastFence] : trimmed;
    }

    private sealed record Answer(List<AnswerItem?>? Items);

    private sealed record AnswerItem(string? Word, string? Meaning, string? PartOfSpeech, string? Example);
}
