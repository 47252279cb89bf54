namespace Vocab.Worker;

/// <summary>A failure with a reason code for the dead-letter queue and the requester; its message never holds a secret.</summary>
public abstract class VocabRequestException(string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>A code from <see cref="Contracts.RejectionReasons"/>.</summary>
    public string Reason { get; } = reason;

    /// <summary>The caller's user id, when known.</summary>
    public string? UserId { get; init; }

    /// <summary>The API key id, when known.</summary>
    public string? KeyId { get; init; }

    /// <summary>The token's jti, when known.</summary>
    public string? TokenId { get; init; }
}
