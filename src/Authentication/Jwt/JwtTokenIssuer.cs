using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Vocab.Authentication.Jwt;

/// <summary>Issues HS256 tokens with the first configured HS256 key: for development and tests, never a production identity provider.</summary>
public sealed class JwtTokenIssuer(IOptions<JwtOptions> options, JwtSigningKeys keys, TimeProvider time)
{
    /// <summary>True when an HS256 key is configured to sign with.</summary>
    public bool CanIssue => keys.FirstSymmetricKey is not null;

    /// <summary>A signed token for the user; its jti is returned too so it can be revoked.</summary>
    public (string Token, string TokenId, DateTime ExpiresAt) Issue(string userId, string role, TimeSpan lifetime)
    {
        var key = keys.FirstSymmetricKey
                  ?? throw new InvalidOperationException("No HS256 key is configured (Jwt:Keys:N:Secret); cannot sign a development token.");
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
            Subject = new ClaimsIdentity([new Claim("sub", userId), new Claim("role", role), new Claim("jti", tokenId)]),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        return (token, tokenId, expiresAt);
    }
}
