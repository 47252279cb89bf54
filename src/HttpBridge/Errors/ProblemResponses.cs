using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Vocab.HttpBridge.Errors;

/// <summary>Generic <c>application/problem+json</c> bodies with a trace id; causes go to the log only.</summary>
public static class ProblemResponses
{
    private const string WwwAuthenticate = "Bearer realm=\"vocab\", ApiKey realm=\"vocab\" header=\"X-API-Key\"";

    /// <summary>A problem for a reason code (401s carry WWW-Authenticate).</summary>
    public static ProblemHttpResult ForReason(HttpContext context, string reason)
    {
        var (status, title) = RejectionStatus.For(reason);
        if (RejectionStatus.IsAuthentication(reason))
            context.Response.Headers.WWWAuthenticate = WwwAuthenticate;
        return TypedResults.Problem(Create(context, status, title));
    }

    /// <summary>A problem with a status and generic title.</summary>
    public static ProblemHttpResult ForStatus(HttpContext context, int status, string title) =>
        TypedResults.Problem(Create(context, status, title));

    /// <summary>Writes the problem straight to the response (authentication handlers have no endpoint result).</summary>
    public static Task WriteRejectionAsync(HttpContext context, string reason) => ForReason(context, reason).ExecuteAsync(context);

    public static ProblemDetails Create(HttpContext context, int status, string title) => new()
    {
        Status = status,
        Title = title,
        Extensions = { ["traceId"] = Activity.Current?.Id ?? context.TraceIdentifier },
    };
}
