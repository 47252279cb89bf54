using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Vocab.Contracts;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// Checks a JWT, closed by default: signature by a known key chosen by <c>kid</c> (required when several are known) and
/// bound to its algorithm; issuer, audience, <c>exp</c>/<c>nbf</c> with clock skew; <c>iat</c> not in the future; a
/// lifetime within <see cref="JwtOptions.MaxLifetime"/> from <c>iat</c> and from now; a <c>typ</c>, when present, of
/// <c>JWT</c> or <c>at+jwt</c>; a <c>jti</c> (unless <see cref="JwtOptions.RequireTokenId"/> is off), a user id (string
/// or integer) and one known role; then the blacklist. Anything it cannot read is refused.
/// </summary>
public sealed partial class JwtValidator
{
    private const string Method = AuthenticationMethods.Jwt;
    private static readonly string[] AcceptedTypes = ["JWT", "at+jwt", "application/at+jwt"];

    // Failures the library reports only after the signature verified (it checks the signature first, see
    // ValidateSignatureLast below): the token is genuine, just not acceptable.
    private static readonly Type[] GenuineTokenFailures =
    [
        typeof(SecurityTokenExpiredException), typeof(SecurityTokenNotYetValidException), typeof(SecurityTokenNoExpirationException),
        typeof(SecurityTokenInvalidLifetimeException), typeof(SecurityTokenInvalidIssuerException), typeof(SecurityTokenInvalidAudienceException),
    ];

    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters _parameters;
    private readonly JwtSigningKeys _keys;
    private readonly IdentityProviderKeys _provider;
    private readonly TokenBlacklist _blacklist;
    private readonly LookupCache _cache;
    private readonly TimeProvider _time;
    private readonly TimeSpan _clockSkew;
    private readonly TimeSpan _maxLifetime;
    private readonly string? _userIdClaim;
    private readonly string _roleClaim;
    private readonly bool _requireTokenId;
    private readonly HashSet<string> _knownRoles;

    /// <summary>Builds the validation parameters once from configuration.</summary>
    public JwtValidator(IOptions<JwtOptions> options, IOptions<AuthenticationOptions> authentication, JwtSigningKeys keys,
        IdentityProviderKeys provider, TokenBlacklist blacklist, LookupCache cache, TimeProvider time)
    {
        _keys = keys;
        _provider = provider;
        _blacklist = blacklist;
        _cache = cache;
        _time = time;
        var jwt = options.Value;
        _clockSkew = jwt.ClockSkew;
        _maxLifetime = jwt.MaxLifetime;
        _userIdClaim = string.IsNullOrEmpty(jwt.UserIdClaim) ? null : jwt.UserIdClaim;
        _roleClaim = jwt.RoleClaim;
        _requireTokenId = jwt.RequireTokenId;
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
            // The signature first, so that a lifetime, issuer or audience failure proves the token genuine.
            ValidateSignatureLast = false,
            IssuerSigningKeyResolver = (_, token, kid, _) =>
                token is JsonWebToken parsed ? keys.Resolve(kid, parsed.Alg) : [],
        };
    }

    /// <summary>Checks the token.</summary>
    public async ValueTask<AuthenticationResult> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        // The signature and claim checks depend only on the token and the known keys, so their outcome is cached for the
        // lookup bound; expiry is re-checked on every use and revocation is looked up every time.
        var checkedToken = await _cache.GetOrLoadAsync(nameof(JwtValidator), token, _ => CheckAsync(token), cancellationToken);
        if (checkedToken.Failure is { } failure)
            return failure;
        var caller = checkedToken.Caller!;
        if (checkedToken.ValidTo + _clockSkew < _time.GetUtcNow().UtcDateTime)
            return AuthenticationResult.Refused(RejectionReasons.ExpiredCredentials, "JWT has expired", Method, caller.UserId, tokenId: caller.TokenId);
        if (await _blacklist.IsRevokedAsync(caller.TokenId, caller.UserId, checkedToken.IssuedAt, cancellationToken))
            return AuthenticationResult.Refused(RejectionReasons.RevokedCredentials, "JWT is revoked", Method, caller.UserId, tokenId: caller.TokenId);
        return AuthenticationResult.Success(caller);
    }

    private async Task<CheckedToken> CheckAsync(string token)
    {
        try
        {
            await RefreshKeysIfUnknownAsync(token);
            return await CheckClaimsAsync(token);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or OverflowException or SecurityTokenException or JsonException)
        {
            // A token the library cannot read to the end is a bad credential, not a failure of the service.
            return Failed(RejectionReasons.InvalidCredentials, $"JWT unreadable: {e.GetType().Name}");
        }
    }

    // A kid no key has may be the provider's new key after a rotation: fetch its keys (throttled) before judging.
    private async Task RefreshKeysIfUnknownAsync(string token)
    {
        if (!_provider.Enabled)
            return;
        var kid = new JsonWebToken(token).Kid;
        if (!string.IsNullOrEmpty(kid) && !_keys.Knows(kid))
            await _provider.RefreshForUnknownKeyAsync(kid, CancellationToken.None);
    }

    private async Task<CheckedToken> CheckClaimsAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            var reason = result.Exception is SecurityTokenExpiredException
                ? RejectionReasons.ExpiredCredentials
                : RejectionReasons.InvalidCredentials;
            var genuine = result.Exception is { } error && GenuineTokenFailures.Contains(error.GetType());
            // The exception's type says why without echoing the token (its messages may quote token parts).
            var detail = $"JWT rejected: {result.Exception?.GetType().Name ?? "unreadable"}";
            return genuine ? Refused(reason, detail) : Failed(reason, detail);
        }

        // From here on the signature is verified: whatever is refused was issued by a holder of a key, not guessed.
        if (!string.IsNullOrEmpty(jwt.Typ) && !AcceptedTypes.Contains(jwt.Typ, StringComparer.OrdinalIgnoreCase))
            return Refused(RejectionReasons.InvalidCredentials, "JWT typ is neither JWT nor at+jwt");
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
        if (payload.RootElement.ValueKind != JsonValueKind.Object)
            return Refused(RejectionReasons.InvalidCredentials, "JWT payload is not a JSON object");
        var root = payload.RootElement;
        var (jtiPresence, jtiValue) = Find(root, JwtRegisteredClaimNames.Jti);
        var tokenId = jtiPresence == Presence.One && jtiValue.ValueKind == JsonValueKind.String ? jtiValue.GetString() : null;
        var userId = ReadUserId(root);
        if (string.IsNullOrEmpty(tokenId) && (_requireTokenId || jtiPresence != Presence.Absent))
            return Refused(RejectionReasons.InvalidCredentials, "JWT has no jti (or not one string)", userId);
        if (string.IsNullOrEmpty(userId))
            return Refused(RejectionReasons.InvalidCredentials,
                $"JWT has no {_userIdClaim ?? "sub or user_id"} (or not one string or integer)", tokenId: tokenId);
        if (ReadRole(root) is not { } role)
            return Refused(RejectionReasons.InvalidCredentials,
                $"JWT {_roleClaim} is missing, not one known role, or an array without exactly one known role", userId, tokenId);

        var now = _time.GetUtcNow().UtcDateTime;
        DateTime? issuedAt = jwt.IssuedAt == DateTime.MinValue ? null : jwt.IssuedAt;
        // A token dated ahead would stay valid long after its exp − iat suggests, and would outlive a user-wide revocation.
        if (issuedAt > now + _clockSkew)
            return Refused(RejectionReasons.InvalidCredentials, "JWT iat is in the future", userId, tokenId);
        if (jwt.ValidTo - (issuedAt ?? now) > _maxLifetime || jwt.ValidTo - now > _maxLifetime + _clockSkew)
            return Refused(RejectionReasons.InvalidCredentials, "JWT lifetime exceeds Jwt:MaxLifetime", userId, tokenId);
        return new CheckedToken(new AuthenticatedCaller(userId, role, Method, null, tokenId), issuedAt, jwt.ValidTo, null);
    }

    // Read from the payload's JSON itself: the library's claim objects turn numbers and arrays into strings.
    private string? ReadUserId(JsonElement root)
    {
        if (_userIdClaim is not null)
            return UserIdOf(Find(root, _userIdClaim));
        // A sub, when there is one, is the identity: a bad sub is not rescued by a user_id.
        var sub = Find(root, JwtRegisteredClaimNames.Sub);
        return UserIdOf(sub.Presence != Presence.Absent ? sub : Find(root, "user_id"));
    }

    // A string, or a JSON integer taken as its decimal digits as written; a fraction, an exponent, a boolean, an array,
    // an object or a duplicate property is refused rather than coerced.
    private static string? UserIdOf((Presence Presence, JsonElement Value) claim)
    {
        if (claim.Presence != Presence.One)
            return null;
        return claim.Value.ValueKind switch
        {
            JsonValueKind.String => claim.Value.GetString(),
            JsonValueKind.Number when IntegerPattern().IsMatch(claim.Value.GetRawText()) => claim.Value.GetRawText(),
            _ => null,
        };
    }

    // One string naming a known role, or an array of strings of which exactly one is a known role (others, such as a
    // provider's own roles, are ignored); anything else, ambiguity included, is refused.
    private string? ReadRole(JsonElement root)
    {
        var (presence, value) = Find(root, _roleClaim);
        if (presence != Presence.One)
            return null;
        if (value.ValueKind == JsonValueKind.String)
            return value.GetString() is { } role && _knownRoles.Contains(role) ? role : null;
        if (value.ValueKind != JsonValueKind.Array)
            return null;
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var element in value.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String)
                return null;
            if (_knownRoles.Contains(element.GetString()!))
                known.Add(element.GetString()!);
        }
        return known.Count == 1 ? known.First() : null;
    }

    private static (Presence Presence, JsonElement Value) Find(JsonElement root, string name)
    {
        var found = (Presence.Absent, default(JsonElement));
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name != name)
                continue;
            if (found.Item1 != Presence.Absent)
                return (Presence.Duplicate, default);
            found = (Presence.One, property.Value);
        }
        return found;
    }

    [GeneratedRegex("^(0|-?[1-9][0-9]{0,63})$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    private static CheckedToken Failed(string reason, string detail, string? userId = null, string? tokenId = null) =>
        new(null, null, DateTime.MinValue, AuthenticationResult.Failure(reason, detail, Method, userId, tokenId: tokenId));

    private static CheckedToken Refused(string reason, string detail, string? userId = null, string? tokenId = null) =>
        new(null, null, DateTime.MinValue, AuthenticationResult.Refused(reason, detail, Method, userId, tokenId: tokenId));

    private enum Presence
    {
        Absent,
        One,
        Duplicate,
    }

    /// <summary>The cacheable outcome of the signature and claim checks.</summary>
    private sealed record CheckedToken(AuthenticatedCaller? Caller, DateTime? IssuedAt, DateTime ValidTo, AuthenticationResult? Failure);
}
