using System.Security.Claims;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.HttpBridge.Authentication;
using Vocab.HttpBridge.Errors;
using Vocab.Plans;
using Vocab.Vocabularies;

namespace Vocab.HttpBridge.Endpoints;

/// <summary>The caller-facing endpoints: generate through the bus, and read one's own stored vocabularies.</summary>
public static partial class VocabularyEndpoints
{
    public const string RateLimitPolicy = "per-user";
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapVocabularyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").RequireAuthorization().RequireRateLimiting(RateLimitPolicy);
        group.MapPost("/videos/{videoId}/vocabulary", GenerateAsync).WithName("GenerateVocabulary");
        group.MapGet("/videos/{videoId}/vocabulary", GetLatestAsync).WithName("GetVocabularyForVideo");
        group.MapGet("/vocabularies", ListAsync).WithName("ListVocabularies");
        return app;
    }

    private static async Task<Results<Ok<VocabularyGenerated>, ValidationProblem, ProblemHttpResult>> GenerateAsync(
        string videoId, GenerateVocabularyBody body, HttpContext http, VocabularyRequester requester, PlanAdmission plans, RequestClaims claims,
        QuotaLedger quotas, VocabularyStore store, RequestTokenEstimator estimator, IOptions<BridgeOptions> options, ILoggerFactory loggers)
    {
        var user = User(http);
        var idempotencyKey = http.Request.Headers[IdempotencyKey.HeaderName];
        if (IdempotencyKey.RequestIdFor(user, idempotencyKey.Count == 0 ? null : idempotencyKey.ToString()) is not { } requestId)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [IdempotencyKey.HeaderName] = [$"{IdempotencyKey.HeaderName} must be 1 to {IdempotencyKey.MaxLength} printable characters."],
            }, title: "Invalid request");
        var request = body.ToRequest(videoId, requestId);
        var errors = GenerateVocabularyRules.Validate(request);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "Invalid request");

        var logger = loggers.CreateLogger(typeof(VocabularyEndpoints));
        // Before the plan counts anything: a request that cannot reach the worker must not use up the caller's quota.
        if (!requester.IsAvailable)
        {
            LogBusUnavailable(logger, null, request.RequestId);
            return ProblemResponses.ForStatus(http, StatusCodes.Status503ServiceUnavailable, "Service unavailable");
        }

        var planned = plans.PlanFor(http.User.FindFirstValue(VocabAuthenticationDefaults.RoleClaim) ?? "");
        if (planned.Plan is not { } plan)
        {
            LogPlanRefused(logger, request.RequestId, user, planned.RefusalReason!, planned.Detail!);
            return PlanResponses.Refusal(http, planned);
        }

        // The key is bound to its first request (IETF Idempotency-Key draft): another body under it is 422, the same
        // body answered is its stored answer, the same body still in flight is 409; none of them costs anything.
        var claim = await claims.RegisterAsync(request.RequestId, user, RequestFingerprint.For(request, user, plan), http.RequestAborted);
        if (claim.State == RequestClaimState.Conflict)
        {
            LogKeyReused(logger, request.RequestId, user);
            return ProblemResponses.ForStatus(http, StatusCodes.Status422UnprocessableEntity, "Idempotency key reused with a different request");
        }
        if (claim.State == RequestClaimState.Open && await store.FindByRequestIdAsync(request.RequestId, http.RequestAborted) is { } stored && stored.UserId == user)
            return TypedResults.Ok(stored.ToGenerated());
        if (claim.LeasedElsewhere)
        {
            http.Response.Headers.RetryAfter = "1";
            return ProblemResponses.ForStatus(http, StatusCodes.Status409Conflict, "Request in progress");
        }

        // The plan answers here, before the bus: the worker asks again, and every step counts a requestId once.
        var decision = await plans.AdmitAsync(request, user, plan, estimator.Estimate(request), http.RequestAborted, claim.CountedInMonth, reportRemaining: true);
        if (decision.Rate is { } rate)
            PlanResponses.WriteRateHeaders(http.Response, rate);
        if (!decision.Admitted)
        {
            LogPlanRefused(logger, request.RequestId, user, decision.RefusalReason!, decision.Detail!);
            return PlanResponses.Refusal(http, decision);
        }

        // As the authentication handler read it; without one the worker gets no credential and refuses.
        var credential = http.Features.Get<PresentedCredential>() ?? PresentedCredential.None;

        var reservation = decision.Reservation!;
        try
        {
            var response = await requester.RequestAsync(request, credential, http.RequestAborted);

            if (response.Is(out Response<VocabularyGenerated>? generated))
                return TypedResults.Ok(generated.Message);
            response.Is(out Response<GenerateVocabularyRejected>? rejected);
            LogWorkerRejected(logger, request.RequestId, rejected!.Message.Reason, user);
            // Refused before the worker admitted it (a credential revoked on the way), the reservation is the bridge's.
            await UnservedRequestGiveBack.RunAsync(claims, quotas, reservation);
            return ProblemResponses.ForReason(http, rejected.Message.Reason);
        }
        catch (RequestTimeoutException)
        {
            LogWorkerTimeout(logger, request.RequestId, options.Value.RequestTimeout);
            await UnservedRequestGiveBack.RunAsync(claims, quotas, reservation);
            return ProblemResponses.ForStatus(http, StatusCodes.Status504GatewayTimeout, "Gateway timeout");
        }
        catch (RequestFaultException e)
        {
            LogWorkerFault(logger, e, request.RequestId);
            await UnservedRequestGiveBack.RunAsync(claims, quotas, reservation);
            return ProblemResponses.ForStatus(http, StatusCodes.Status500InternalServerError, "Internal error");
        }
        catch (OperationCanceledException)
        {
            // The caller went away: what no worker holds goes back.
            await UnservedRequestGiveBack.RunAsync(claims, quotas, reservation);
            throw;
        }
        catch (Exception e)
        {
            // Not sent, as far as anyone can tell.
            await UnservedRequestGiveBack.RunAsync(claims, quotas, reservation);
            LogBusUnavailable(logger, e, request.RequestId);
            return ProblemResponses.ForStatus(http, StatusCodes.Status503ServiceUnavailable, "Service unavailable");
        }
    }

    private static async Task<Results<Ok<VocabularyGenerated>, ProblemHttpResult>> GetLatestAsync(
        string videoId, HttpContext http, VocabularyStore store)
    {
        var stored = await store.FindLatestForVideoAsync(User(http), videoId, http.RequestAborted);
        return stored is null
            ? ProblemResponses.ForStatus(http, StatusCodes.Status404NotFound, "Not found")
            : TypedResults.Ok(stored.ToGenerated());
    }

    private static async Task<Results<Ok<VocabularyPage>, ValidationProblem>> ListAsync(
        HttpContext http, VocabularyStore store, int? page, int? pageSize)
    {
        var p = page ?? 1;
        var size = pageSize ?? 20;
        var errors = new Dictionary<string, string[]>();
        if (p < 1)
            errors["page"] = ["page must be 1 or more."];
        if (size is < 1 or > MaxPageSize)
            errors["pageSize"] = [$"pageSize must be between 1 and {MaxPageSize}."];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors, title: "Invalid request");

        var documents = await store.ListForUserAsync(User(http), p, size, http.RequestAborted);
        return TypedResults.Ok(new VocabularyPage(p, size, documents.Select(d => d.ToGenerated()).ToList()));
    }

    // Always the authenticated caller: nothing in the request can name another user.
    private static string User(HttpContext http) =>
        http.User.FindFirstValue(VocabAuthenticationDefaults.UserIdClaim) ?? throw new InvalidOperationException("No authenticated user.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Plan refused request {RequestId} of user {UserId}: {Reason} ({Detail})")]
    private static partial void LogPlanRefused(ILogger logger, Guid requestId, string userId, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of user {UserId} refused: requestId reused with a different request")]
    private static partial void LogKeyReused(ILogger logger, Guid requestId, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker rejected request {RequestId} of user {UserId}: {Reason}")]
    private static partial void LogWorkerRejected(ILogger logger, Guid requestId, string reason, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker did not answer request {RequestId} within {Timeout}")]
    private static partial void LogWorkerTimeout(ILogger logger, Guid requestId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker faulted on request {RequestId}")]
    private static partial void LogWorkerFault(ILogger logger, Exception exception, Guid requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not send request {RequestId} over the bus")]
    private static partial void LogBusUnavailable(ILogger logger, Exception? exception, Guid requestId);
}
