using Vocab.Contracts;

namespace Vocab.Plans;

/// <summary>
/// Checks a request against the caller's plan, in order: what the plan allows (<c>forbidden</c>), the shared rate
/// (<c>rate_limited</c>) and the month's quota (<c>quota_exceeded</c>). Every step is idempotent by requestId, so the
/// bridge and then the worker may both ask.
/// </summary>
public sealed class PlanAdmission(PlanCatalog plans, SharedRateLimiter rates, QuotaLedger quotas)
{
    /// <summary>The role's plan, or a refusal when no plan is mapped to it (never a default).</summary>
    public AdmissionDecision PlanFor(string role) =>
        plans.ForRole(role) is { } plan
            ? new AdmissionDecision(plan, null, null, null, null)
            : AdmissionDecision.Refused(RejectionReasons.Forbidden, $"no plan for role '{role}' (Plans:RoleMap)");

    /// <summary>Admits the request under <paramref name="plan"/>, reserving <paramref name="estimatedTokens"/> until it is settled.</summary>
    public async Task<AdmissionDecision> AdmitAsync(GenerateVocabulary request, string userId, Plan plan, long estimatedTokens, CancellationToken cancellationToken)
    {
        if (request.MaxItems > plan.Limits.MaxItems)
            return AdmissionDecision.Refused(RejectionReasons.Forbidden, $"maxItems {request.MaxItems} is above plan {plan.Name}'s {plan.Limits.MaxItems}", plan);

        RateDecision? rate = null;
        if (plan.Limits.RequestsPerMinute is { } perWindow)
        {
            rate = await rates.CheckAsync(request.RequestId, userId, perWindow, cancellationToken);
            if (!rate.Allowed)
                return AdmissionDecision.Refused(RejectionReasons.RateLimited, $"over plan {plan.Name}'s {perWindow} requests per window", plan, rate);
        }

        var quota = await quotas.AdmitAsync(request.RequestId, userId, plan, estimatedTokens, cancellationToken);
        return quota.Admitted
            ? new AdmissionDecision(plan, null, null, rate, quota.ResetsAt)
            : AdmissionDecision.Refused(RejectionReasons.QuotaExceeded, $"plan {plan.Name}'s monthly quota is spent", plan, rate, quota.ResetsAt);
    }
}
