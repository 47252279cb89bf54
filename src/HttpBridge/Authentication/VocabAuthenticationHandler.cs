using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.HttpBridge.Errors;

namespace Vocab.HttpBridge.Authentication;

/// <summary>
/// Authenticates HTTP callers with the same <see cref="CredentialValidator"/> as the worker: no credential is
/// <c>NoResult</c>, a bad one is <c>Fail</c>; challenges and forbids answer with generic problem bodies.
/// </summary>
public sealed partial class VocabAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder, CredentialValidator validator,
    FailedAuthenticationThrottle throttle)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    /// <inheritdoc />
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var credential = PresentedCredential.FromHeaders(Request.Headers[VocabHeaders.ApiKey], Request.Headers.Authorization);
        if (credential.Kind == CredentialKind.None)
            return AuthenticateResult.NoResult();

        var result = await validator.ValidateAsync(credential, Context.RequestAborted);
        if (result.Caller is not { } caller)
        {
            var address = Context.Connection.RemoteIpAddress;
            // Only what could be a guess counts, and a valid credential never reaches here: a backend relaying its users'
            // expired tokens, or a caller with a good key on a busy address, is never locked out.
            if (result.IsPossibleGuess && !throttle.IsTrusted(address) && !throttle.TryRecordGuess(address, out var retryAfter))
            {
                Context.Items[VocabAuthenticationDefaults.FailureReasonItem] = RejectionReasons.RateLimited;
                Context.Items[VocabAuthenticationDefaults.RetryAfterItem] = retryAfter;
                LogThrottled(Logger, address?.ToString(), result.FailureDetail!, result.Method, result.KeyId);
                return AuthenticateResult.Fail(RejectionReasons.RateLimited);
            }

            Context.Items[VocabAuthenticationDefaults.FailureReasonItem] = result.FailureReason;
            LogRejected(Logger, result.FailureReason!, result.FailureDetail!, result.Method, result.UserId, result.KeyId, result.TokenId);
            return AuthenticateResult.Fail(result.FailureReason!);
        }

        var claims = new List<Claim>
        {
            new(VocabAuthenticationDefaults.UserIdClaim, caller.UserId),
            new(VocabAuthenticationDefaults.RoleClaim, caller.Role),
            new(VocabAuthenticationDefaults.MethodClaim, caller.Method),
        };
        if (caller.KeyId is not null)
            claims.Add(new Claim(VocabAuthenticationDefaults.KeyIdClaim, caller.KeyId));
        if (caller.TokenId is not null)
            claims.Add(new Claim(VocabAuthenticationDefaults.TokenIdClaim, caller.TokenId));
        var identity = new ClaimsIdentity(claims, Scheme.Name, VocabAuthenticationDefaults.UserIdClaim, VocabAuthenticationDefaults.RoleClaim);
        // Read once per request: the endpoint forwards exactly this credential to the worker, which checks it again.
        Context.Features.Set(credential);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    /// <inheritdoc />
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var reason = Context.Items[VocabAuthenticationDefaults.FailureReasonItem] as string ?? RejectionReasons.MissingCredentials;
        if (Context.Items[VocabAuthenticationDefaults.RetryAfterItem] is TimeSpan retryAfter)
            Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ProblemResponses.WriteRejectionAsync(Context, reason);
    }

    /// <inheritdoc />
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ProblemResponses.WriteRejectionAsync(Context, RejectionReasons.Forbidden);

    [LoggerMessage(Level = LogLevel.Debug, Message = "HTTP caller throttled: too many failed guesses from {Address} ({Detail}); method {Method}, key {KeyId}")]
    private static partial void LogThrottled(ILogger logger, string? address, string detail, string method, string? keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP caller rejected: {Reason} ({Detail}); method {Method}, user {UserId}, key {KeyId}, jti {TokenId}")]
    private static partial void LogRejected(ILogger logger, string reason, string detail, string method, string? userId, string? keyId, string? tokenId);
}
