namespace Vocab.Contracts;

/// <summary>Asks the worker to build a vocabulary list from a video's transcript; the credential travels in the headers.</summary>
public sealed record GenerateVocabulary
{
    /// <summary>The default number of items when the publisher does not say.</summary>
    public const int DefaultMaxItems = 20;

    /// <summary>Identifies this request; a redelivered request with the same id returns the stored result.</summary>
    public Guid RequestId { get; init; }

    /// <summary>The video the transcript belongs to.</summary>
    public string VideoId { get; init; } = "";

    /// <summary>The transcript text.</summary>
    public string Transcript { get; init; } = "";

    /// <summary>The transcript's language, e.g. "en".</summary>
    public string SourceLanguage { get; init; } = "";

    /// <summary>The language of the meanings, e.g. "ko".</summary>
    public string TargetLanguage { get; init; } = "";

    /// <summary>How many items at most, 1 to 100.</summary>
    public int MaxItems { get; init; } = DefaultMaxItems;
}
