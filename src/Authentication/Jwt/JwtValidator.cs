using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Vocab.Contracts;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// Checks a JWT: signature by a configured key chosen by <c>kid</c> and bound to its algorithm, issuer, audience,
/// <c>exp</c>/<c>nbf</c> with clock skew; requires <c>exp</c>, <c>jti</c> and a user id; then the blacklist.
/// </summary>
public sealed class JwtValidator
{
    private const string Method = AuthenticationMethods.Jwt;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters _parameters;
    private readonly TokenBlacklist _blacklist;

    /// <summary>Builds the validation parameters once from configuration.</summary>
    public JwtValidator(IOptions<JwtOptions> options, JwtSigningKeys keys, TokenBlacklist blacklist)
    {
        _blacklist = blacklist;
        var jwt = options.Value;
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = jwt.Issuer,
            ValidAudience = jwt.Audience,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = jwt.ClockSkew,
            ValidAlgorithms = JwtAlgorithms.Allowed,
            TryAllIssuerSigningKeys = false,
            IssuerSigningKeyResolver = (_, token, kid, _) =>
                token is JsonWebToken parsed ? keys.Resolve(kid, parsed.Alg) : [],
        };
    }

    /// <summary>Checks the token.</summary>
    public async ValueTask<AuthenticationResult> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            var reason = result.Exception is SecurityTokenExpiredException
                ? RejectionReasons.ExpiredCredentials
                : RejectionReasons.InvalidCredentials;
            // The exception's type says why without echoing the token (its messages may quote token parts).
            return AuthenticationResult.Failure(reason, $"JWT rejected: {result.Exception?.GetType().Name ?? "unreadable"}", Method);
        }

        var tokenId = jwt.Id;
        var userId = ReadUserId(jwt);
        if (string.IsNullOrEmpty(tokenId))
            return AuthenticationResult.Failure(RejectionReasons.InvalidCredentials, "JWT has no jti", Method, userId);
        if (string.IsNullOrEmpty(userId))
            return AuthenticationResult.Failure(RejectionReasons.InvalidCredentials, "JWT has no sub or user_id", Method, tokenId: tokenId);

        DateTime? issuedAt = jwt.IssuedAt == DateTime.MinValue ? null : jwt.IssuedAt;
        if (await _blacklist.IsRevokedAsync(tokenId, userId, issuedAt, cancellationToken))
            return AuthenticationResult.Failure(RejectionReasons.RevokedCredentials, "JWT is revoked", Method, userId, tokenId: tokenId);

        var role = jwt.TryGetPayloadValue<string>("role", out var r) && !string.IsNullOrWhiteSpace(r) ? r : Roles.User;
        return AuthenticationResult.Success(new AuthenticatedCaller(userId, role, Method, null, tokenId));
    }

    private static string? ReadUserId(JsonWebToken jwt)
    {
        if (!string.IsNullOrEmpty(jwt.Subject))
            return jwt.Subject;
        return jwt.TryGetPayloadValue<string>("user_id", out var userId) ? userId : null;
    }
}
