using Vocab.Contracts;

namespace Vocab.Worker;

/// <summary>The LLM timed out or failed (5xx, connection); retried with backoff unless <see cref="Retryable"/> says not.</summary>
public sealed class LlmUnavailableException(string message, Exception? inner = null)
    : VocabRequestException(RejectionReasons.LlmUnavailable, message, inner)
{
    /// <summary>
    /// The call was sent and not answered in time: the provider may have generated (and billed) the whole answer, so the
    /// caller is charged its reservation for it, as for an unusable answer (<see cref="LlmInvalidOutputException.SpentTokens"/>).
    /// </summary>
    public bool MayHaveBeenBilled { get; init; }

    /// <summary>False for a provider's refusal that would be the same again (a 4xx other than 408 and 429): not retried.</summary>
    public bool Retryable { get; init; } = true;
}
