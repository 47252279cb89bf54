namespace Vocab.Contracts;

/// <summary>The request was not served; <see cref="Reason"/> is one of <see cref="RejectionReasons"/>.</summary>
public sealed record GenerateVocabularyRejected
{
    /// <summary>The request this answers.</summary>
    public Guid RequestId { get; init; }

    /// <summary>
    /// The proven caller the refusal is for (the credential's user), when there is one. A published refusal names a
    /// requestId that other callers could use too: readers match both, as for <see cref="VocabularyGenerated.UserId"/>.
    /// </summary>
    public string? UserId { get; init; }

    /// <summary>The video the request was for.</summary>
    public string VideoId { get; init; } = "";

    /// <summary>A reason code from <see cref="RejectionReasons"/>; never a secret.</summary>
    public string Reason { get; init; } = "";

    /// <summary>For <c>rate_limited</c>: seconds until a new request would be admitted.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>For <c>quota_exceeded</c>: when the month's quota resets (00:00 UTC on the 1st).</summary>
    public DateTimeOffset? QuotaResetsAt { get; init; }
}
