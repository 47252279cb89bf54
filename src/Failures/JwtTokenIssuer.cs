using System.Security.Claims;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Vocab.Authentication.Jwt;

namespace Vocab.Failures;

/// <summary>
/// Mints HS256 tokens with the first configured HS256 key, for development and for dead-letter replays. It lives with
/// the failure store (vocabctl and the ops console) because the worker and the bridge only ever verify tokens.
/// </summary>
public sealed class JwtTokenIssuer(IOptions<JwtOptions> options, TimeProvider time)
{
    private readonly JwtKeyOptions? _key = options.Value.Keys.FirstOrDefault(k => k.Algorithm == JwtAlgorithms.HS256 && !string.IsNullOrEmpty(k.Secret));

    private string UserIdClaim => string.IsNullOrEmpty(options.Value.UserIdClaim) ? "sub" : options.Value.UserIdClaim;

    /// <summary>True when an HS256 key is configured to sign with.</summary>
    public bool CanIssue => _key is not null;

    /// <summary>A signed token for the user; its jti is returned too so it can be revoked.</summary>
    public (string Token, string TokenId, DateTime ExpiresAt) Issue(string userId, string role, TimeSpan lifetime)
    {
        var key = _key ?? throw new InvalidOperationException("No HS256 key is configured (Jwt:Keys:N:Secret); cannot sign a token.");
        var now = time.GetUtcNow().UtcDateTime;
        var tokenId = Guid.NewGuid().ToString("N");
        var expiresAt = now.Add(lifetime);
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = expiresAt,
            // Under the claim names the validators read (Jwt:UserIdClaim, Jwt:RoleClaim): a replay's token must be accepted.
            Subject = new ClaimsIdentity([new Claim(UserIdClaim, userId), new Claim(options.Value.RoleClaim, role), new Claim("jti", tokenId)]),
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key.Secret!)) { KeyId = key.Id }, SecurityAlgorithms.HmacSha256),
        });
        return (token, tokenId, expiresAt);
    }
}
