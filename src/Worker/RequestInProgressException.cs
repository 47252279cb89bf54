using Vocab.Contracts;

namespace Vocab.Worker;

/// <summary>
/// Another delivery of the requestId is being produced, and this copy's requester waits for an answer: it is told to ask
/// again (the bridge's 409) rather than held on the delay queue past its timeout.
/// </summary>
public sealed class RequestInProgressException(string message) : VocabRequestException(RejectionReasons.RequestInProgress, message)
{
    /// <summary>When to ask again.</summary>
    public int RetryAfterSeconds { get; init; } = 1;
}
