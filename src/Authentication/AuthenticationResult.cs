namespace Vocab.Authentication;

/// <summary>The outcome of checking a credential: a caller, or a reason code with whatever identifiers were learnt.</summary>
public sealed class AuthenticationResult
{
    private AuthenticationResult(AuthenticatedCaller? caller, string? failureReason, string? failureDetail,
        string method, string? userId, string? keyId, string? tokenId, bool isPossibleGuess)
    {
        IsPossibleGuess = isPossibleGuess;
        Caller = caller;
        FailureReason = failureReason;
        FailureDetail = failureDetail;
        Method = method;
        UserId = userId;
        KeyId = keyId;
        TokenId = tokenId;
    }

    /// <summary>The caller when the check succeeded.</summary>
    public AuthenticatedCaller? Caller { get; }

    /// <summary>A code from <see cref="Contracts.RejectionReasons"/> when the check failed.</summary>
    public string? FailureReason { get; }

    /// <summary>Why, for logs only: never sent to a caller, never a secret.</summary>
    public string? FailureDetail { get; }

    /// <summary>One of <see cref="AuthenticationMethods"/>.</summary>
    public string Method { get; }

    /// <summary>The user id when known, even on failure.</summary>
    public string? UserId { get; }

    /// <summary>The API key id when known, even on failure.</summary>
    public string? KeyId { get; }

    /// <summary>The token's jti when known, even on failure.</summary>
    public string? TokenId { get; }

    /// <summary>
    /// True for a failure that could be someone guessing (an unknown key, a bad signature, an unknown <c>kid</c>, anything
    /// unreadable); false on success and for a credential proved genuine (its key matched or its signature verified) but
    /// refused: expired, revoked, forbidden, or with claims this service does not take. Throttles count only guesses.
    /// </summary>
    public bool IsPossibleGuess { get; }

    /// <summary>True when <see cref="Caller"/> is set.</summary>
    public bool Succeeded => Caller is not null;

    /// <summary>A successful result.</summary>
    public static AuthenticationResult Success(AuthenticatedCaller caller) =>
        new(caller, null, null, caller.Method, caller.UserId, caller.KeyId, caller.TokenId, false);

    /// <summary>A failed result that may be a guess: the credential proved nothing.</summary>
    public static AuthenticationResult Failure(string reason, string detail, string method,
        string? userId = null, string? keyId = null, string? tokenId = null) =>
        new(null, reason, detail, method, userId, keyId, tokenId, true);

    /// <summary>A failed result for a credential proved genuine (key matched, signature verified) but refused.</summary>
    public static AuthenticationResult Refused(string reason, string detail, string method,
        string? userId = null, string? keyId = null, string? tokenId = null) =>
        new(null, reason, detail, method, userId, keyId, tokenId, false);
}
