using Microsoft.Extensions.Options;
using Vocab.Contracts;

namespace Vocab.Plans;

/// <summary>
/// Checks a request against the caller's plan, in order: what the plan allows (<c>forbidden</c>), then the shared rate
/// (<c>rate_limited</c>) and the month's quota (<c>quota_exceeded</c>) in one conditional update. Idempotent by requestId,
/// so a redelivery asks again without being counted again.
/// </summary>
public sealed class PlanAdmission(PlanCatalog plans, QuotaLedger quotas, IOptions<RateLimitOptions> rateOptions)
{
    /// <summary>The role's plan, or a refusal when no plan is mapped to it (never a default).</summary>
    public AdmissionDecision PlanFor(string role) =>
        plans.ForRole(role) is { } plan
            ? new AdmissionDecision(plan, null, null, null, null)
            : AdmissionDecision.Refused(RejectionReasons.Forbidden, $"no plan for role '{role}' (Plans:RoleMap)");

    /// <summary>
    /// Admits the request under <paramref name="plan"/>, reserving <paramref name="estimatedTokens"/> until it is settled.
    /// <paramref name="countedInMonth"/>: its claim says an earlier attempt was counted in that month and gave its reservation back.
    /// <paramref name="reportRemaining"/>: the decision says what the rate window has left (the admission returns it).
    /// <paramref name="claim"/>: the admission also claims the requestId (see <see cref="RequestClaimTerms"/>); one in flight
    /// already comes back as <see cref="AdmissionDecision.InFlight"/>.
    /// </summary>
    public async Task<AdmissionDecision> AdmitAsync(GenerateVocabulary request, string userId, Plan plan, long estimatedTokens, CancellationToken cancellationToken,
        string? countedInMonth = null, bool reportRemaining = false, RequestClaimTerms? claim = null)
    {
        if (request.MaxItems > plan.Limits.MaxItems)
            return AdmissionDecision.Refused(RejectionReasons.Forbidden, $"maxItems {request.MaxItems} is above plan {plan.Name}'s {plan.Limits.MaxItems}", plan);

        var rate = plan.Limits.RequestsPerMinute is { } perWindow ? new RateWindow(perWindow, rateOptions.Value.Window) : null;
        var quota = await quotas.AdmitAsync(request.RequestId, userId, plan, estimatedTokens, cancellationToken, rate, countedInMonth, reportRemaining, claim);
        if (quota.Admitted)
            return new AdmissionDecision(plan, null, null, quota.Rate, quota.ResetsAt, quota.Reservation, RecentlyFinished: quota.RecentlyFinished);
        if (quota.InFlight is { } inFlight)
            return new AdmissionDecision(plan, null, null, quota.Rate, quota.ResetsAt, InFlight: inFlight);
        return quota.Rate is { Allowed: false }
            ? AdmissionDecision.Refused(RejectionReasons.RateLimited, $"over plan {plan.Name}'s {rate!.Limit} requests per window", plan, quota.Rate)
            : AdmissionDecision.Refused(RejectionReasons.QuotaExceeded, $"plan {plan.Name}'s monthly quota is spent", plan, quota.Rate, quota.ResetsAt);
    }
}
