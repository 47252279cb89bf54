using System.Globalization;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Vocab.Contracts;

namespace Vocab.HttpBridge.Errors;

/// <summary>
/// How the worker's answers look over HTTP: the IETF draft <c>RateLimit-Policy</c> / <c>RateLimit</c> headers on every
/// rated answer (as the worker's admission wrote them), 429 and 409 with <c>Retry-After</c>, 402 with the quota's reset
/// time (no Retry-After: waiting a minute will not help), 403 saying only that the plan does not allow it; any other
/// reason as <see cref="ProblemResponses.ForReason"/> has it.
/// </summary>
public static class PlanResponses
{
    public static void CopyRateHeaders(Headers answer, HttpResponse response)
    {
        if (answer.Get<string>(VocabHeaders.RateLimitPolicy) is { Length: > 0 } policy && answer.Get<string>(VocabHeaders.RateLimit) is { Length: > 0 } status)
        {
            response.Headers["RateLimit-Policy"] = policy;
            response.Headers["RateLimit"] = status;
        }
    }

    public static ProblemHttpResult Refusal(HttpContext http, string reason, int? retryAfterSeconds = null, DateTimeOffset? quotaResetsAt = null)
    {
        if (RejectionStatus.IsAuthentication(reason))
            return ProblemResponses.ForReason(http, reason);
        var (status, title) = RejectionStatus.For(reason);
        var problem = ProblemResponses.Create(http, status, title);
        switch (reason)
        {
            case RejectionReasons.RateLimited or RejectionReasons.RequestInProgress:
                http.Response.Headers.RetryAfter = Math.Max(1, retryAfterSeconds ?? 1).ToString(CultureInfo.InvariantCulture);
                break;
            case RejectionReasons.QuotaExceeded:
                problem.Detail = "The plan's monthly quota is used up.";
                problem.Extensions["resetsAt"] = quotaResetsAt;
                break;
            case RejectionReasons.Forbidden:
                problem.Detail = "The plan does not allow this request.";
                break;
        }
        return TypedResults.Problem(problem);
    }
}
