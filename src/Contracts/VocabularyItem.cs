namespace Vocab.Contracts;

/// <summary>One word of a generated vocabulary list.</summary>
public sealed record VocabularyItem
{
    /// <summary>The word as it appears in the transcript's language.</summary>
    public string Word { get; init; } = "";

    /// <summary>Its meaning in the target language.</summary>
    public string Meaning { get; init; } = "";

    /// <summary>Its part of speech, e.g. "noun".</summary>
    public string PartOfSpeech { get; init; } = "";

    /// <summary>An example sentence.</summary>
    public string Example { get; init; } = "";
}
