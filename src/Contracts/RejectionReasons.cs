namespace Vocab.Contracts;

/// <summary>The reason codes a rejected or failed request carries (the <c>Vocab-Reason</c> header and <see cref="GenerateVocabularyRejected.Reason"/>).</summary>
public static class RejectionReasons
{
    /// <summary>No API key and no bearer token.</summary>
    public const string MissingCredentials = "missing_credentials";

    /// <summary>The credential is unknown, malformed, inactive or its signature does not verify.</summary>
    public const string InvalidCredentials = "invalid_credentials";

    /// <summary>The credential has expired.</summary>
    public const string ExpiredCredentials = "expired_credentials";

    /// <summary>The key was revoked or the token's jti (or its user) is blacklisted.</summary>
    public const string RevokedCredentials = "revoked_credentials";

    /// <summary>The caller's role may not do this.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The message body is malformed or a field is out of range.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The LLM did not answer (timeouts, 5xx) after retries.</summary>
    public const string LlmUnavailable = "llm_unavailable";

    /// <summary>The LLM answered, but not with a usable vocabulary list, after retries.</summary>
    public const string LlmInvalidOutput = "llm_invalid_output";

    /// <summary>Too many requests in the caller's window (HTTP 429 with Retry-After).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>Reserved for plans: the caller's plan allows no more (HTTP 402).</summary>
    public const string PlanLimitReached = "plan_limit_reached";

    /// <summary>Anything else; the worker's log has the cause.</summary>
    public const string InternalError = "internal_error";

    /// <summary>Reasons that come from the credential; such messages cannot be replayed, as the credential was stripped.</summary>
    public static readonly IReadOnlySet<string> CredentialReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        MissingCredentials, InvalidCredentials, ExpiredCredentials, RevokedCredentials, Forbidden,
    };
}
