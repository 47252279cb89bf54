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
    private readonly LookupCache _cache;
    private readonly TimeProvider _time;
    private readonly TimeSpan _clockSkew;

    /// <summary>Builds the validation parameters once from configuration.</summary>
    public JwtValidator(IOptions<JwtOptions> options, JwtSigningKeys keys, TokenBlacklist blacklist, LookupCache cache, TimeProvider time)
    {
        _blacklist = blacklist;
        _cache = cache;
        _time = time;
        var jwt = options.Value;
        _clockSkew = jwt.ClockSkew;
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
        // The signature and claim checks depend only on the token and the configured keys, so their outcome is cached
        // for the lookup bound; expiry is re-checked on every use and revocation is looked up every time.
        var checkedToken = await _cache.GetOrLoadAsync((nameof(JwtValidator), token), _ => CheckAsync(token), cancellationToken);
        if (checkedToken.Failure is { } failure)
            return failure;
        var caller = checkedToken.Caller!;
        if (checkedToken.ValidTo + _clockSkew < _time.GetUtcNow().UtcDateTime)
            return AuthenticationResult.Failure(RejectionReasons.ExpiredCredentials, "JWT has expired", Method, caller.UserId, tokenId: caller.TokenId);
        if (await _blacklist.IsRevokedAsync(caller.TokenId!, caller.UserId, checkedToken.IssuedAt, cancellationToken))
            return AuthenticationResult.Failure(RejectionReasons.RevokedCredentials, "JWT is revoked", Method, caller.UserId, tokenId: caller.TokenId);
        return AuthenticationResult.Success(caller);
    }

    private async Task<CheckedToken> CheckAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            var reason = result.Exception is SecurityTokenExpiredException
                ? RejectionReasons.ExpiredCredentials
                : RejectionReasons.InvalidCredentials;
            // The exception's type says why without echoing the token (its messages may quote token parts).
            return CheckedToken.Failed(AuthenticationResult.Failure(reason, $"JWT rejected: {result.Exception?.GetType().Name ?? "unreadable"}", Method));
        }

        var tokenId = jwt.Id;
        var userId = ReadUserId(jwt);
        if (string.IsNullOrEmpty(tokenId))
            return CheckedToken.Failed(AuthenticationResult.Failure(RejectionReasons.InvalidCredentials, "JWT has no jti", Method, userId));
        if (string.IsNullOrEmpty(userId))
            return CheckedToken.Failed(AuthenticationResult.Failure(RejectionReasons.InvalidCredentials, "JWT has no sub or user_id", Method, tokenId: tokenId));

        var role = jwt.TryGetPayloadValue<string>("role", out var r) && !string.IsNullOrWhiteSpace(r) ? r : Roles.User;
        DateTime? issuedAt = jwt.IssuedAt == DateTime.MinValue ? null : jwt.IssuedAt;
        return new CheckedToken(new AuthenticatedCaller(userId, role, Method, null, tokenId), issuedAt, jwt.ValidTo, null);
    }

    private static string? ReadUserId(JsonWebToken jwt)
    {
        if (!string.IsNullOrEmpty(jwt.Subject))
            return jwt.Subject;
        return jwt.TryGetPayloadValue<string>("user_id", out var userId) ? userId : null;
    }

    /// <summary>The cacheable outcome of the signature and claim checks.</summary>
    private sealed record CheckedToken(AuthenticatedCaller? Caller, DateTime? IssuedAt, DateTime ValidTo, AuthenticationResult? Failure)
    {
        public static CheckedToken Failed(AuthenticationResult failure) => new(null, null, DateTime.MinValue, failure);
    }
}
