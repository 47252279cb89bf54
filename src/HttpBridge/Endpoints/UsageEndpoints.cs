using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Vocab.HttpBridge.Authentication;
using Vocab.Plans;

namespace Vocab.HttpBridge.Endpoints;

/// <summary><c>GET /usage</c>: the caller's own usage this month and what the plan leaves.</summary>
public static class UsageEndpoints
{
    public sealed record UsageView(string UserId, string? Plan, string Month, long Requests, long? RemainingRequests,
        long TokensUsed, long TokensReserved, long? RemainingTokens, DateTimeOffset ResetsAt);

    public static IEndpointRouteBuilder MapUsageEndpoints(this IEndpointRouteBuilder app)
    {
        // Under the per-user limit of the vocabulary endpoints: each call reads MongoDB.
        app.MapGet("/usage", GetAsync).RequireAuthorization().RequireRateLimiting(VocabularyEndpoints.RateLimitPolicy).WithName("GetUsage");
        return app;
    }

    private static async Task<Ok<UsageView>> GetAsync(HttpContext http, QuotaLedger quotas, PlanCatalog plans, TimeProvider time)
    {
        var userId = http.User.FindFirstValue(VocabAuthenticationDefaults.UserIdClaim)!;
        var plan = plans.ForRole(http.User.FindFirstValue(VocabAuthenticationDefaults.RoleClaim) ?? "");
        var now = time.GetUtcNow();
        var usage = await quotas.GetAsync(userId, UsageMonth.Of(now), http.RequestAborted);
        var remaining = RemainingQuota.Of(plan, usage);
        return TypedResults.Ok(new UsageView(userId, plan?.Name, UsageMonth.Of(now), usage.Requests,
            remaining.Requests, usage.UsedTokens, usage.ReservedTokens, remaining.Tokens, UsageMonth.ResetsAt(now)));
    }
}
