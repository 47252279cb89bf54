using System.Globalization;
using System.Net;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Contracts;

namespace Vocab.Ops.Authentication;

/// <summary>
/// Checks an ops credential with the same validators as the worker and the bridge (an API key, or a JWT), under the
/// bridge's failed-guess throttle per address: the console's own role check (admin or ops) replaces the vocabulary one.
/// </summary>
public sealed partial class OpsSignIn(ApiKeyValidator apiKeys, JwtValidator jwts, FailedAuthenticationThrottle throttle, ILogger<OpsSignIn> logger)
{
    /// <summary>The outcome: a principal, or a status (401 bad credential, 403 role, 429 throttled) and why.</summary>
    public sealed record Outcome(ClaimsPrincipal? Principal, int Status, string Message);

    public async Task<Outcome> SignInAsync(string? credential, IPAddress? address, CancellationToken cancellationToken)
    {
        var value = credential?.Trim() ?? "";
        if (value.StartsWith(VocabHeaders.BearerScheme + " ", StringComparison.OrdinalIgnoreCase))
            value = value[(VocabHeaders.BearerScheme.Length + 1)..].Trim();
        var isToken = value.StartsWith("eyJ", StringComparison.Ordinal);
        var result = value.Length == 0
            ? AuthenticationResult.Failure(RejectionReasons.MissingCredentials, "empty", AuthenticationMethods.None)
            : isToken
                ? await jwts.ValidateAsync(value, cancellationToken)
                : await apiKeys.ValidateAsync(value, cancellationToken);

        if (result.Caller is not { } caller)
        {
            if (result.IsPossibleGuess && !throttle.IsTrusted(address) && !throttle.TryRecordGuess(address, out var retryAfter))
            {
                LogThrottled(logger, address?.ToString());
                return new Outcome(null, StatusCodes.Status429TooManyRequests,
                    $"Too many failed sign-ins from this address; try again in {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} s.");
            }
            LogRejected(logger, result.FailureReason!, result.FailureDetail!, result.UserId, result.KeyId, result.TokenId);
            return new Outcome(null, StatusCodes.Status401Unauthorized, "That credential was not accepted.");
        }
        if (!OpsClaims.Roles.Contains(caller.Role))
        {
            LogForbidden(logger, caller.UserId, caller.Role, caller.KeyId, caller.TokenId);
            return new Outcome(null, StatusCodes.Status403Forbidden, $"Role '{caller.Role}' may not use the ops console (admin or ops only).");
        }

        var claims = new List<Claim> { new(OpsClaims.UserId, caller.UserId), new(OpsClaims.Role, caller.Role) };
        if (caller.KeyId is not null)
            claims.Add(new Claim(OpsClaims.KeyId, caller.KeyId));
        if (caller.TokenId is not null)
            claims.Add(new Claim(OpsClaims.TokenId, caller.TokenId));
        if (isToken)
        {
            // Validated above, so it parses; the session must not outlive the token (Ops:SessionLifetime is hours).
            var expiresAt = new DateTimeOffset(new JsonWebToken(value).ValidTo, TimeSpan.Zero).ToUnixTimeSeconds();
            claims.Add(new Claim(OpsClaims.TokenExpiresAt, expiresAt.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64));
        }
        LogSignedIn(logger, caller.UserId, caller.Role, caller.KeyId, caller.TokenId);
        return new Outcome(new ClaimsPrincipal(new ClaimsIdentity(claims, OpsClaims.Scheme, OpsClaims.UserId, OpsClaims.Role)), StatusCodes.Status200OK, "");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ops sign-in: user {UserId}, role {Role}, key {KeyId}, jti {TokenId}")]
    private static partial void LogSignedIn(ILogger logger, string userId, string role, string? keyId, string? tokenId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ops sign-in refused: role {Role} of user {UserId} (key {KeyId}, jti {TokenId})")]
    private static partial void LogForbidden(ILogger logger, string userId, string role, string? keyId, string? tokenId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ops sign-in rejected: {Reason} ({Detail}); user {UserId}, key {KeyId}, jti {TokenId}")]
    private static partial void LogRejected(ILogger logger, string reason, string detail, string? userId, string? keyId, string? tokenId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ops sign-in throttled: too many failed guesses from {Address}")]
    private static partial void LogThrottled(ILogger logger, string? address);
}
