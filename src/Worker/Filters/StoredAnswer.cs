using Vocab.Vocabularies;

namespace Vocab.Worker.Filters;

/// <summary>The answer already stored under the requestId, found by the admission filter: the consumer sends it again.</summary>
public sealed record StoredAnswer(VocabularyDocument Document);
