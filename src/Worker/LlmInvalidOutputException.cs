using Vocab.Contracts;

namespace Vocab.Worker;

/// <summary>The LLM answered with something that is not a usable vocabulary list; retried, as a new answer may be usable.</summary>
public sealed class LlmInvalidOutputException(string message, Exception? inner = null)
    : VocabRequestException(RejectionReasons.LlmInvalidOutput, message, inner)
{
    /// <summary>Tokens the unusable answers cost: charged to the caller like a served request's, not given back.</summary>
    public long SpentTokens { get; init; }
}
