using Vocab.Contracts;

namespace Vocab.HttpBridge.Endpoints;

/// <summary>One page of the caller's vocabularies, newest first.</summary>
public sealed record VocabularyPage(int Page, int PageSize, IReadOnlyList<VocabularyGenerated> Items);
