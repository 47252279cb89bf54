namespace Vocab.Contracts;

/// <summary>The field rules of <see cref="GenerateVocabulary"/>, so publishers, the bridge and the worker check alike.</summary>
public static class GenerateVocabularyRules
{
    /// <summary>The fewest items a request may ask for.</summary>
    public const int MinItems = 1;

    /// <summary>The most items a request may ask for.</summary>
    public const int MaxItems = 100;

    /// <summary>The longest transcript accepted, in characters.</summary>
    public const int MaxTranscriptLength = 200_000;

    /// <summary>The longest video id accepted.</summary>
    public const int MaxVideoIdLength = 200;

    /// <summary>Returns the problems with a request, field name to message; empty when it is valid.</summary>
    public static IReadOnlyDictionary<string, string> Validate(GenerateVocabulary? request)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request is null)
        {
            errors["body"] = "The request body is missing.";
            return errors;
        }

        if (request.RequestId == Guid.Empty)
            errors["requestId"] = "requestId must be a non-empty GUID.";
        if (string.IsNullOrWhiteSpace(request.VideoId) || request.VideoId.Length > MaxVideoIdLength)
            errors["videoId"] = $"videoId is required, at most {MaxVideoIdLength} characters.";
        if (string.IsNullOrWhiteSpace(request.Transcript) || request.Transcript.Length > MaxTranscriptLength)
            errors["transcript"] = $"transcript is required, at most {MaxTranscriptLength} characters.";
        if (!IsLanguageCode(request.SourceLanguage))
            errors["sourceLanguage"] = "sourceLanguage must be a language code such as \"en\".";
        if (!IsLanguageCode(request.TargetLanguage))
            errors["targetLanguage"] = "targetLanguage must be a language code such as \"ko\".";
        if (request.MaxItems is < MinItems or > MaxItems)
            errors["maxItems"] = $"maxItems must be between {MinItems} and {MaxItems}.";
        return errors;
    }

    // BCP 47-ish: "en", "ko", "pt-BR", "zh-Hant".
    private static bool IsLanguageCode(string? code) =>
        !string.IsNullOrEmpty(code) && code.Length <= 16 &&
        code.All(c => char.IsAsciiLetter(c) || c == '-') && char.IsAsciiLetter(code[0]);
}
