namespace Vocab.Worker;

/// <summary>The caller's plan refuses the request (forbidden, quota_exceeded, rate_limited past RateLimits:MaxDelay); never retried.</summary>
public sealed class PlanRefusedException(string reason, string message) : VocabRequestException(reason, message)
{
}
