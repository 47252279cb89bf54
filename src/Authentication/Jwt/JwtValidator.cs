using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Vocab.Contracts;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// Checks a JWT, closed by default: signature by a configured key chosen by <c>kid</c> (required when several are
/// configured) and bound to its algorithm; issuer, audience, <c>exp</c>/<c>nbf</c> with clock skew; a lifetime within
/// <see cref="JwtOptions.MaxLifetime"/>; a <c>typ</c>, when present, of <c>JWT</c> or <c>at+jwt</c>; <c>jti</c>, a user
/// id and exactly one string <c>role</c> naming a known role; then the blacklist. Anything it cannot read is refused.
/// </summary>
public sealed class JwtValidator
{
    private const string Method = AuthenticationMethods.Jwt;
    private static readonly string[] AcceptedTypes = ["JWT", "at+jwt", "application/at+jwt"];
    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters _parameters;
    private readonly TokenBlacklist _blacklist;
    private readonly LookupCache _cache;
    private readonly TimeProvider _time;
    private readonly TimeSpan _clockSkew;
    private readonly TimeSpan _maxLifetime;
    private readonly HashSet<string> _knownRoles;

    /// <summary>Builds the validation parameters once from configuration.</summary>
    public JwtValidator(IOptions<JwtOptions> options, IOptions<AuthenticationOptions> authentication, JwtSigningKeys keys,
        TokenBlacklist blacklist, LookupCache cache, TimeProvider time)
    {
        _blacklist = blacklist;
        _cache = cache;
        _time = time;
        var jwt = options.Value;
        _clockSkew = jwt.ClockSkew;
        _maxLifetime = jwt.MaxLifetime;
        _knownRoles = new HashSet<string>(Roles.All.Concat(authentication.Value.EffectiveAllowedRoles), StringComparer.Ordinal);
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
        var checkedToken = await _cache.GetOrLoadAsync(nameof(JwtValidator), token, _ => CheckAsync(token), cancellationToken);
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
        try
        {
            return await CheckClaimsAsync(token);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or OverflowException or SecurityTokenException or JsonException)
        {
            // A token the library cannot read to the end is a bad credential, not a failure of the service.
            return Failed(RejectionReasons.InvalidCredentials, $"JWT unreadable: {e.GetType().Name}");
        }
    }

    private async Task<CheckedToken> CheckClaimsAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            var reason = result.Exception is SecurityTokenExpiredException
                ? RejectionReasons.ExpiredCredentials
                : RejectionReasons.InvalidCredentials;
            // The exception's type says why without echoing the token (its messages may quote token parts).
            return Failed(reason, $"JWT rejected: {result.Exception?.GetType().Name ?? "unreadable"}");
        }

        if (!string.IsNullOrEmpty(jwt.Typ) && !AcceptedTypes.Contains(jwt.Typ, StringComparer.OrdinalIgnoreCase))
            return Failed(RejectionReasons.InvalidCredentials, "JWT typ is neither JWT nor at+jwt");
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
        if (payload.RootElement.ValueKind != JsonValueKind.Object)
            return Failed(RejectionReasons.InvalidCredentials, "JWT payload is not a JSON object");
        var tokenId = SingleString(payload, JwtRegisteredClaimNames.Jti);
        var userId = SingleString(payload, JwtRegisteredClaimNames.Sub) ?? SingleString(payload, "user_id");
        if (string.IsNullOrEmpty(tokenId))
            return Failed(RejectionReasons.InvalidCredentials, "JWT has no jti (or not one string)", userId);
        if (string.IsNullOrEmpty(userId))
            return Failed(RejectionReasons.InvalidCredentials, "JWT has no sub or user_id (or not one string)", tokenId: tokenId);
        if (SingleString(payload, "role") is not { } role || !_knownRoles.Contains(role))
            return Failed(RejectionReasons.InvalidCredentials, "JWT role is missing, not one string, or not a known role", userId, tokenId);

        DateTime? issuedAt = jwt.IssuedAt == DateTime.MinValue ? null : jwt.IssuedAt;
        // Without iat the lifetime left is all that can be judged.
        var lifetimeStart = issuedAt ?? _time.GetUtcNow().UtcDateTime;
        if (jwt.ValidTo - lifetimeStart > _maxLifetime)
            return Failed(RejectionReasons.InvalidCredentials, "JWT lifetime exceeds Jwt:MaxLifetime", userId, tokenId);
        return new CheckedToken(new AuthenticatedCaller(userId, role, Method, null, tokenId), issuedAt, jwt.ValidTo, null);
    }

    // Read from the payload's JSON itself: the library's claim objects turn numbers and arrays into strings. Exactly one
    // property of that name holding a JSON string; a duplicate, number, array or object is refused rather than coerced.
    private static string? SingleString(JsonDocument payload, string name)
    {
        string? value = null;
        foreach (var property in payload.RootElement.EnumerateObject())
        {
            if (property.Name != name)
                continue;
            if (value is not null || property.Value.ValueKind != JsonValueKind.String)
                return null;
            value = property.Value.GetString();
        }
        return value;
    }

    private static CheckedToken Failed(string reason, string detail, string? userId = null, string? tokenId = null) =>
        new(null, null, DateTime.MinValue, AuthenticationResult.Failure(reason, detail, Method, userId, tokenId: tokenId));

    /// <summary>The cacheable outcome of the signature and claim checks.</summary>
    private sealed record CheckedToken(AuthenticatedCaller? Caller, DateTime? IssuedAt, DateTime ValidTo, AuthenticationResult? Failure);
}
