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
    // A million results deep at the largest page size; beyond, the offset would overflow.
    private const int MaxPage = 10_000;

    public static IEndpointRouteBuilder MapVocabularyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").RequireAuthorization().RequireRateLimiting(RateLimitPolicy);
        group.MapPost("/videos/{videoId}/vocabulary", GenerateAsync).WithName("GenerateVocabulary");
        group.MapGet("/videos/{videoId}/vocabulary", GetLatestAsync).WithName("GetVocabularyForVideo");
        group.MapGet("/vocabularies", ListAsync).WithName("ListVocabularies");
        return app;
    }

    /// <summary>
    /// Checks what needs no database (the body, the Idempotency-Key, that the caller's role has a plan, that the bus is up)
    /// and asks the worker, which owns everything else a request costs: the requestId's claim, the plan's admission and its
    /// reservation, the stored answer. The worker answers this requester at once over the rate or while the key is in
    /// flight (<see cref="VocabHeaders.AnswerWithoutWaiting"/>); its refusals map to 402, 409, 422 and 429 here.
    /// </summary>
    private static async Task<Results<Ok<VocabularyGenerated>, ValidationProblem, ProblemHttpResult>> GenerateAsync(
        string videoId, GenerateVocabularyBody body, HttpContext http, VocabularyRequester requester, PlanCatalog plans,
        IOptions<BridgeOptions> options, ILoggerFactory loggers)
    {
        var user = User(http);
        var idempotencyKey = http.Request.Headers[IdempotencyKey.HeaderName];
        if (IdempotencyKey.RequestIdFor(user, idempotencyKey.Count == 0 ? null : idempotencyKey.ToString(), options.Value.IdempotencySecretBytes()) is not { } requestId)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [IdempotencyKey.HeaderName] = [$"{IdempotencyKey.HeaderName} must be 1 to {IdempotencyKey.MaxLength} printable characters."],
            }, title: "Invalid request");
        var request = body.ToRequest(videoId, requestId);
        var errors = GenerateVocabularyRules.Validate(request);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => new[] { e.Value }), title: "Invalid request");

        var logger = loggers.CreateLogger(typeof(VocabularyEndpoints));
        if (!requester.IsAvailable)
        {
            LogBusUnavailable(logger, null, request.RequestId);
            return ProblemResponses.ForStatus(http, StatusCodes.Status503ServiceUnavailable, "Service unavailable");
        }
        if (plans.ForRole(http.User.FindFirstValue(VocabAuthenticationDefaults.RoleClaim) ?? "") is null)
        {
            LogNoPlan(logger, request.RequestId, user);
            return PlanResponses.Refusal(http, RejectionReasons.Forbidden);
        }

        // As the authentication handler read it; without one the worker gets no credential and refuses.
        var credential = http.Features.Get<PresentedCredential>() ?? PresentedCredential.None;
        try
        {
            var response = await requester.RequestAsync(request, credential, http.RequestAborted);
            // Responses are matched on MassTransit's RequestId alone: one about another request is not this caller's answer.
            if (response.Is(out Response<VocabularyGenerated>? generated))
            {
                if (generated.Message.RequestId != request.RequestId)
                    return NotItsAnswer(http, logger, request.RequestId, generated.Message.RequestId, user);
                PlanResponses.CopyRateHeaders(generated.Headers, http.Response);
                return TypedResults.Ok(generated.Message);
            }
            response.Is(out Response<GenerateVocabularyRejected>? rejected);
            // Strictly its own id: the bridge always sends one, and a refusal naming none (a body the worker could not read)
            // answers someone else's message, sent to this bridge's address.
            if (rejected!.Message.RequestId != request.RequestId)
                return NotItsAnswer(http, logger, request.RequestId, rejected.Message.RequestId, user);
            PlanResponses.CopyRateHeaders(rejected!.Headers, http.Response);
            LogWorkerRejected(logger, request.RequestId, rejected.Message.Reason, user);
            return PlanResponses.Refusal(http, rejected.Message.Reason, rejected.Message.RetryAfterSeconds, rejected.Message.QuotaResetsAt);
        }
        catch (RequestTimeoutException)
        {
            LogWorkerTimeout(logger, request.RequestId, options.Value.RequestTimeout);
            return ProblemResponses.ForStatus(http, StatusCodes.Status504GatewayTimeout, "Gateway timeout");
        }
        catch (RequestFaultException e)
        {
            LogWorkerFault(logger, e, request.RequestId);
            return ProblemResponses.ForStatus(http, StatusCodes.Status500InternalServerError, "Internal error");
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
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
        if (p is < 1 or > MaxPage)
            errors["page"] = [$"page must be between 1 and {MaxPage}."];
        if (size is < 1 or > MaxPageSize)
            errors["pageSize"] = [$"pageSize must be between 1 and {MaxPageSize}."];
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors, title: "Invalid request");

        var documents = await store.ListForUserAsync(User(http), p, size, http.RequestAborted);
        return TypedResults.Ok(new VocabularyPage(p, size, documents.Select(d => d.ToGenerated()).ToList()));
    }

    private static ProblemHttpResult NotItsAnswer(HttpContext http, ILogger logger, Guid requestId, Guid answered, string user)
    {
        LogNotItsAnswer(logger, requestId, answered, user);
        return ProblemResponses.ForStatus(http, StatusCodes.Status503ServiceUnavailable, "Service unavailable");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of user {UserId} got an answer about request {AnsweredRequestId}: not passed on")]
    private static partial void LogNotItsAnswer(ILogger logger, Guid requestId, Guid answeredRequestId, string userId);

    // Always the authenticated caller: nothing in the request can name another user.
    private static string User(HttpContext http) =>
        http.User.FindFirstValue(VocabAuthenticationDefaults.UserIdClaim) ?? throw new InvalidOperationException("No authenticated user.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of user {UserId} refused: the caller's role has no plan")]
    private static partial void LogNoPlan(ILogger logger, Guid requestId, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker rejected request {RequestId} of user {UserId}: {Reason}")]
    private static partial void LogWorkerRejected(ILogger logger, Guid requestId, string reason, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker did not answer request {RequestId} within {Timeout}")]
    private static partial void LogWorkerTimeout(ILogger logger, Guid requestId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker faulted on request {RequestId}")]
    private static partial void LogWorkerFault(ILogger logger, Exception exception, Guid requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not send request {RequestId} over the bus")]
    private static partial void LogBusUnavailable(ILogger logger, Exception? exception, Guid requestId);
}
