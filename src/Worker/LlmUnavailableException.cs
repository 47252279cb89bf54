using Vocab.Contracts;

namespace Vocab.Worker;

/// <summary>The LLM timed out or failed (5xx, connection); retried with backoff.</summary>
public sealed class LlmUnavailableException(string message, Exception? inner = null)
    : VocabRequestException(RejectionReasons.LlmUnavailable, message, inner)
{
}
