namespace Vocab.Worker;

/// <summary>The caller's plan refuses the request (forbidden, quota_exceeded, rate_limited past RateLimits:MaxDelay); never retried.</summary>
public sealed class PlanRefusedException(string reason, string message) : VocabRequestException(reason, message)
{
    /// <summary>For <c>rate_limited</c>: when the caller may try again.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>For <c>quota_exceeded</c>: when the monthly quota starts afresh.</summary>
    public DateTimeOffset? QuotaResetsAt { get; init; }
}
