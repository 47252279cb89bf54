using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Vocab.Contracts;
using Vocab.Plans;

namespace Vocab.HttpBridge.Errors;

/// <summary>
/// How the plan's answers look over HTTP: the IETF draft <c>RateLimit-Policy</c> / <c>RateLimit</c> headers on every
/// rated answer, 429 with <c>Retry-After</c>, 402 with the quota's reset time (no Retry-After: waiting a minute will
/// not help), 403 saying only that the plan does not allow it.
/// </summary>
public static class PlanResponses
{
    public static void WriteRateHeaders(HttpResponse response, RateDecision rate)
    {
        var seconds = (int)Math.Ceiling(rate.ResetAfter.TotalSeconds);
        response.Headers["RateLimit-Policy"] = string.Create(CultureInfo.InvariantCulture, $"\"plan\";q={rate.Limit};w={(int)rate.Window.TotalSeconds}");
        response.Headers["RateLimit"] = string.Create(CultureInfo.InvariantCulture, $"\"plan\";r={rate.Remaining};t={seconds}");
    }

    public static ProblemHttpResult Refusal(HttpContext http, AdmissionDecision decision)
    {
        var reason = decision.RefusalReason!;
        var (status, title) = RejectionStatus.For(reason);
        var problem = ProblemResponses.Create(http, status, title);
        switch (reason)
        {
            case RejectionReasons.RateLimited when decision.Rate is { } rate:
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(rate.ResetAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                break;
            case RejectionReasons.QuotaExceeded:
                problem.Detail = "The plan's monthly quota is used up.";
                problem.Extensions["resetsAt"] = decision.QuotaResetsAt;
                break;
            case RejectionReasons.Forbidden:
                problem.Detail = "The plan does not allow this request.";
                break;
        }
        return TypedResults.Problem(problem);
    }
}
