using Vocab.Contracts;

namespace Vocab.HttpBridge.Errors;

/// <summary>The HTTP status and generic title for each reason code, the same whether the bridge or the worker refused.</summary>
public static class RejectionStatus
{
    /// <summary>The status code and a title that says nothing about the cause.</summary>
    public static (int Status, string Title) For(string reason) => reason switch
    {
        RejectionReasons.MissingCredentials or RejectionReasons.InvalidCredentials or
            RejectionReasons.ExpiredCredentials or RejectionReasons.RevokedCredentials => (StatusCodes.Status401Unauthorized, "Unauthorized"),
        RejectionReasons.Forbidden => (StatusCodes.Status403Forbidden, "Forbidden"),
        RejectionReasons.InvalidRequest => (StatusCodes.Status400BadRequest, "Invalid request"),
        RejectionReasons.RequestIdReused => (StatusCodes.Status422UnprocessableEntity, "Idempotency key reused with a different request"),
        RejectionReasons.RequestInProgress => (StatusCodes.Status409Conflict, "Request in progress"),
        RejectionReasons.RateLimited => (StatusCodes.Status429TooManyRequests, "Too many requests"),
        RejectionReasons.QuotaExceeded => (StatusCodes.Status402PaymentRequired, "Quota exceeded"),
        RejectionReasons.LlmUnavailable => (StatusCodes.Status503ServiceUnavailable, "Service unavailable"),
        RejectionReasons.LlmInvalidOutput => (StatusCodes.Status502BadGateway, "Bad gateway"),
        _ => (StatusCodes.Status500InternalServerError, "Internal error"),
    };

    /// <summary>True for the reasons that ask the caller to authenticate (401 with WWW-Authenticate).</summary>
    public static bool IsAuthentication(string reason) => For(reason).Status == StatusCodes.Status401Unauthorized;
}
