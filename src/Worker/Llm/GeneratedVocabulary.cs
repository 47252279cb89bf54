using Vocab.Contracts;

namespace Vocab.Worker.Llm;

/// <summary>What one LLM call produced: the checked items, the model and the token usage.</summary>
public sealed record GeneratedVocabulary(IReadOnlyList<VocabularyItem> Items, string Model, TokenUsage Usage);
