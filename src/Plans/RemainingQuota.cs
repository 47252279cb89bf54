namespace Vocab.Plans;

/// <summary>
/// What a plan leaves of its monthly limits after <see cref="UsageDocument"/>'s usage: requests, and tokens against the
/// committed count (reserved plus used). Null where the plan sets no such limit, or where no plan applies.
/// </summary>
public sealed record RemainingQuota(long? Requests, long? Tokens)
{
    /// <summary>The remainder of <paramref name="plan"/>'s limits; the same figures the bridge's <c>/usage</c> and <c>vocabctl plans show</c> print.</summary>
    public static RemainingQuota Of(Plan? plan, UsageDocument usage) =>
        new(plan?.Limits.MonthlyRequests - usage.Requests, plan?.Limits.MonthlyTokens - usage.CommittedTokens);
}
