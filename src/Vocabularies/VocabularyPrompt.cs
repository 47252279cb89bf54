using System.Text.Json;

namespace Vocab.Vocabularies;

/// <summary>The prompt and the answer's JSON schema, versioned: a stored result records the version it was made with.</summary>
public static class VocabularyPrompt
{
    /// <summary>Changes whenever the prompt or schema changes, so results made with another are not reused.</summary>
    public const string Version = "2026-11-29.1";

    public const string System =
        """
        You build vocabulary lists for language learners from video transcripts.
        Answer with JSON only, no prose and no Markdown, in exactly this shape:
        {"items":[{"word":"...","meaning":"...","partOfSpeech":"...","example":"..."}]}
        "word" is a useful word or phrase from the transcript in its language; "meaning" is its meaning in the target language;
        "partOfSpeech" is e.g. noun, verb, adjective; "example" is a short sentence using the word. Every field is non-empty.
        Give at most the number of items asked for, each word once.
        """;

    /// <summary>The answer's shape, sent as a strict JSON schema where the endpoint supports it.</summary>
    public static readonly JsonElement Schema = JsonDocument.Parse(
        """
        {
          "type": "object",
          "properties": {
            "items": {
              "type": "array",
              "items": {
                "type": "object",
                "properties": {
                  "word": { "type": "string" },
                  "meaning": { "type": "string" },
                  "partOfSpeech": { "type": "string" },
                  "example": { "type": "string" }
                },
                "required": ["word", "meaning", "partOfSpeech", "example"],
                "additionalProperties": false
              }
            }
          },
          "required": ["items"],
          "additionalProperties": false
        }
        """).RootElement.Clone();

    /// <summary>The user message: the request's fields as JSON.</summary>
    public static string User(Contracts.GenerateVocabulary request) => JsonSerializer.Serialize(new
    {
        sourceLanguage = request.SourceLanguage,
        targetLanguage = request.TargetLanguage,
        maxItems = request.MaxItems,
        transcript = request.Transcript,
    });
}
