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

    /// <summary>Too many requests in the caller's window (HTTP 429 with Retry-After; on the bus, only after RateLimits:MaxDelay of waiting).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The caller's plan has no requests or tokens left this month (HTTP 402); never retried automatically.</summary>
    public const string QuotaExceeded = "quota_exceeded";

    /// <summary>The requestId is already bound to another request (another body or caller): nothing was done (HTTP 422).</summary>
    public const string RequestIdReused = "request_id_reused";

    /// <summary>
    /// Answered only to a requester that waits for its answer: another delivery of this requestId is being produced now; ask
    /// again after <see cref="GenerateVocabularyRejected.RetryAfterSeconds"/> (HTTP 409). A published copy waits for it instead.
    /// </summary>
    public const string RequestInProgress = "request_in_progress";

    /// <summary>
    /// Dead-letter only: the request was served and its requester answered, but its <see cref="VocabularyGenerated"/> event
    /// was not published (refused or unconfirmed by the broker); a replay publishes it.
    /// </summary>
    public const string EventNotPublished = "event_not_published";

    /// <summary>Anything else; the worker's log has the cause.</summary>
    public const string InternalError = "internal_error";

    /// <summary>Dead-letter only: an envelope whose message type no consumer handles (filed as a refusal on <c>_refused</c>, metadata only; on <c>_skipped</c> before 2026-12-01).</summary>
    public const string UnhandledMessageType = "unhandled_message_type";

    /// <summary>Dead-letter only: the broker dropped the message because its time-to-live ran out while it waited in the queue.</summary>
    public const string ExpiredInQueue = "expired_in_queue";

    /// <summary>Dead-letter only: the broker dead-lettered the message because a client rejected it without requeueing.</summary>
    public const string RejectedByBroker = "rejected_by_broker";

    /// <summary>Dead-letter only: the queue was over its length limit.</summary>
    public const string QueueOverflow = "queue_overflow";

    /// <summary>Dead-letter only: the message was redelivered more often than the queue's delivery limit.</summary>
    public const string DeliveryLimitExceeded = "delivery_limit_exceeded";

    /// <summary>Dead-letter only: the broker dead-lettered the message for a reason it did not name.</summary>
    public const string DeadLetteredByBroker = "dead_lettered_by_broker";

    /// <summary>Reasons that come from the credential; such messages cannot be replayed, as the credential was stripped.</summary>
    public static readonly IReadOnlySet<string> CredentialReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        MissingCredentials, InvalidCredentials, ExpiredCredentials, RevokedCredentials, Forbidden,
    };
}
