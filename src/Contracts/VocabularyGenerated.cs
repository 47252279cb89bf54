namespace Vocab.Contracts;

/// <summary>A vocabulary list was generated (or found stored) for a request: the reply and the published event.</summary>
public sealed record VocabularyGenerated
{
    /// <summary>The request this answers.</summary>
    public Guid RequestId { get; init; }

    /// <summary>The video the list is for.</summary>
    public string VideoId { get; init; } = "";

    /// <summary>The authenticated caller the list belongs to.</summary>
    public string UserId { get; init; } = "";

    /// <summary>The transcript's language.</summary>
    public string SourceLanguage { get; init; } = "";

    /// <summary>The language of the meanings.</summary>
    public string TargetLanguage { get; init; } = "";

    /// <summary>The items, at most the requested number.</summary>
    public IReadOnlyList<VocabularyItem> Items { get; init; } = [];

    /// <summary>The model that produced the list.</summary>
    public string Model { get; init; } = "";

    /// <summary>The tokens the LLM call used.</summary>
    public TokenUsage Usage { get; init; } = new();

    /// <summary>When the list was generated.</summary>
    public DateTimeOffset GeneratedAt { get; init; }
}
