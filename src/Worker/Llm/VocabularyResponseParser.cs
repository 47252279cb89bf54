using System.Text.Json;
using Vocab.Contracts;

namespace Vocab.Worker.Llm;

/// <summary>
/// Reads the LLM's <c>{"items":[{word, meaning, partOfSpeech, example}]}</c> answer the way a tolerant reader would:
/// JSON inside a Markdown fence or after a line of prose is found; items with a blank field or a repeated word are
/// dropped; more items than asked are cut to the first <c>maxItems</c>. Only an answer with no usable item is refused.
/// </summary>
public static class VocabularyResponseParser
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { MaxDepth = 16 };

    /// <summary>The usable items, or <see cref="LlmInvalidOutputException"/> saying what was wrong (never echoing the answer).</summary>
    public static IReadOnlyList<VocabularyItem> Parse(string? text, int maxItems)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new LlmInvalidOutputException("The LLM returned an empty answer.");
        if (FindJsonObject(text) is not { } json)
            throw new LlmInvalidOutputException("The LLM's answer holds no JSON object.");

        Answer? answer;
        try
        {
            answer = JsonSerializer.Deserialize<Answer>(json, Json);
        }
        catch (JsonException e)
        {
            // Not kept as the inner exception: the retry policy ignores JsonException (malformed messages).
            throw new LlmInvalidOutputException($"The LLM's answer is not the expected JSON ({e.GetType().Name} at byte {e.BytePositionInLine}).");
        }

        var words = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var usable = (answer?.Items ?? [])
            .Where(i => i is not null && !IsBlank(i.Word) && !IsBlank(i.Meaning) && !IsBlank(i.PartOfSpeech) && !IsBlank(i.Example))
            .Select(i => new VocabularyItem
            {
                Word = i!.Word!.Trim(), Meaning = i.Meaning!.Trim(), PartOfSpeech = i.PartOfSpeech!.Trim(), Example = i.Example!.Trim(),
            })
            .Where(i => words.Add(i.Word))
            .Take(maxItems)
            .ToList();
        return usable.Count > 0 ? usable : throw new LlmInvalidOutputException("The LLM's answer has no usable item.");
    }

    private static bool IsBlank(string? value) => string.IsNullOrWhiteSpace(value);

    // Models wrap JSON in a Markdown fence or put a line of prose before it even when asked not to: take the outermost
    // object of the first fenced block, else of the whole text.
    private static string? FindJsonObject(string text)
    {
        var fence = text.IndexOf("```", StringComparison.Ordinal);
        if (fence >= 0)
        {
            var bodyStart = text.IndexOf('\n', fence);
            var fenceEnd = bodyStart < 0 ? -1 : text.IndexOf("```", bodyStart, StringComparison.Ordinal);
            if (fenceEnd > bodyStart && Outermost(text[bodyStart..fenceEnd]) is { } fenced)
                return fenced;
        }
        return Outermost(text);
    }

    private static string? Outermost(string text)
    {
        var start = text.IndexOf('{');
        var end = text.LastIndexOf('}');
        return start >= 0 && end > start ? text[start..(end + 1)] : null;
    }

    private sealed record Answer(List<AnswerItem?>? Items);

    private sealed record AnswerItem(string? Word, string? Meaning, string? PartOfSpeech, string? Example);
}
