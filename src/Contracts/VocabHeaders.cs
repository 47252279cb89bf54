namespace Vocab.Contracts;

/// <summary>Header names used on Vocab messages, in one place for publishers, the worker and ops tools.</summary>
public static class VocabHeaders
{
    /// <summary>The prefix of every header the worker writes for ops; a publisher's own headers of that name are dropped.</summary>
    public const string Prefix = "Vocab-";

    /// <summary>Carries an API key.</summary>
    public const string ApiKey = "X-API-Key";

    /// <summary>Carries <c>Bearer &lt;jwt&gt;</c>.</summary>
    public const string Authorization = "Authorization";

    /// <summary>The scheme prefix of <see cref="Authorization"/>.</summary>
    public const string BearerScheme = "Bearer";

    /// <summary>Set on dead-lettered messages: a code from <see cref="RejectionReasons"/>.</summary>
    public const string Reason = "Vocab-Reason";

    /// <summary>Set on dead-lettered messages when the caller was identified: the user id.</summary>
    public const string UserId = "Vocab-User-Id";

    /// <summary>Set on dead-lettered messages when an API key was presented and identified: its non-secret key id.</summary>
    public const string KeyId = "Vocab-Key-Id";

    /// <summary>Set on dead-lettered messages when the caller was identified: the role, so a replay acts with the same rights.</summary>
    public const string Role = "Vocab-Role";

    /// <summary>Set by vocabctl on a replayed message: the dead-letter id (<see cref="DeadLetterId"/>) of the copy it replays.</summary>
    public const string ReplayOf = "Vocab-Replay-Of";

    /// <summary>Set on dead-lettered messages when a JWT was presented and carried one: its <c>jti</c>.</summary>
    public const string TokenId = "Vocab-Token-Id";

    /// <summary>Set on messages the broker dead-lettered itself: the queue it took them from.</summary>
    public const string DeadLetteredFrom = "Vocab-Dead-Lettered-From";

    /// <summary>Set on a dead-lettered copy whose body was dropped because it could not be cleaned of credentials with certainty.</summary>
    public const string BodyRemoved = "Vocab-Body-Removed";

    /// <summary>
    /// Set by the worker on a dead-lettered copy from which it dropped publisher headers over the budget of what it carries
    /// (<c>Vocab.Messaging.HeaderBudget</c>): how many.
    /// </summary>
    public const string HeadersDropped = "Vocab-Headers-Dropped";

    /// <summary>Set by the worker on every dead-lettered copy: an id it assigned, by which ops replay or purge that copy.</summary>
    public const string DeadLetterId = "Vocab-Dead-Letter-Id";

    /// <summary>Set by the worker on every dead-lettered copy: when it was written (ISO 8601, UTC).</summary>
    public const string DeadLetteredAt = "Vocab-Dead-Lettered-At";

    /// <summary>Set by the worker on every dead-lettered copy: HMAC-SHA256 (base64) over its metadata, body and replayed properties.</summary>
    public const string Signature = "Vocab-Signature";

    /// <summary>Set by the worker beside <see cref="Signature"/>: which <c>DeadLetter</c> key signed it.</summary>
    public const string SignatureKeyId = "Vocab-Signature-Key-Id";

    /// <summary>
    /// Set by a requester that waits for its answer (the HTTP bridge does) to <c>true</c>: answer now, with
    /// <see cref="RejectionReasons.RateLimited"/> or <see cref="RejectionReasons.RequestInProgress"/>, rather than hold the
    /// request until its rate window or another delivery of its requestId is done; a refusal so answered is kept as a refusal
    /// (metadata only), and a dead-letter copy never carries this header, so a replay waits as any published message does.
    /// </summary>
    public const string AnswerWithoutWaiting = "X-Vocab-Answer-Without-Waiting";

    /// <summary>
    /// Set by the worker on its answer to a requester whose plan has a rate: the IETF draft <c>RateLimit-Policy</c> value
    /// (<c>"plan";q=limit;w=window seconds</c>), which the HTTP bridge passes on as that header. Not <see cref="Prefix"/>ed: the
    /// worker drops every inbound <c>Vocab-*</c> header from what it sends, and this one is sent only to the request's own requester.
    /// </summary>
    public const string RateLimitPolicy = "X-Vocab-RateLimit-Policy";

    /// <summary>Beside <see cref="RateLimitPolicy"/>: the IETF draft <c>RateLimit</c> value (<c>"plan";r=remaining;t=seconds to reset</c>).</summary>
    public const string RateLimit = "X-Vocab-RateLimit";

    /// <summary>The headers that carry secrets; they are removed from everything the worker sends or dead-letters.</summary>
    public static readonly IReadOnlyList<string> CredentialHeaders = [ApiKey, Authorization];
}
