namespace Vocab.Vocabularies;

/// <summary>
/// What the store holds for a request, read in one query: under its requestId (<see cref="ForRequest"/>: its stored
/// answer, or the record of its failure), and the first answer to the same question (<see cref="Reusable"/>; null when
/// there is none, or reuse was not asked).
/// </summary>
public sealed record RequestLookup(VocabularyDocument? ForRequest, VocabularyDocument? Reusable);
