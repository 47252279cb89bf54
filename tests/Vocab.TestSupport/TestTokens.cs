using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Vocab.TestSupport;

/// <summary>
/// Key material for a test worker (one HS256 and one RS256 JWT key, the dead-letter signing key) and tokens good and bad.
/// </summary>
public sealed class TestTokens
{
    public const string Issuer = "https://auth.test.vocab";
    public const string Audience = "vocab-api";
    public const string HmacKeyId = "hs-2026";
    public const string RsaKeyId = "rs-2026";
    public const string HmacSecret = "test-secret-that-is-long-enough-for-hs256-0123456789";
    public const string DeadLetterKeyId = "dl-2026";
    public const string DeadLetterSigningKey = "test-dead-letter-signing-key-of-at-least-32-bytes-0123456789";

    private readonly RSA _rsa = RSA.Create(2048);

    public string RsaPublicKeyPem => _rsa.ExportSubjectPublicKeyInfoPem();

    /// <summary>Configuration entries for the worker's <c>Jwt</c> and <c>DeadLetter</c> sections.</summary>
    public Dictionary<string, string?> Configuration() => new()
    {
        ["Jwt:Issuer"] = Issuer,
        ["Jwt:Audience"] = Audience,
        ["Jwt:ClockSkew"] = "00:00:05",
        ["Jwt:Keys:0:Id"] = HmacKeyId,
        ["Jwt:Keys:0:Algorithm"] = "HS256",
        ["Jwt:Keys:0:Secret"] = HmacSecret,
        ["Jwt:Keys:1:Id"] = RsaKeyId,
        ["Jwt:Keys:1:Algorithm"] = "RS256",
        ["Jwt:Keys:1:PublicKeyPem"] = RsaPublicKeyPem,
        ["DeadLetter:SigningKeyId"] = DeadLetterKeyId,
        ["DeadLetter:SigningKey"] = DeadLetterSigningKey,
    };

    public string Hs256(string userId, string? jti = null, DateTime? expires = null, DateTime? notBefore = null,
        string issuer = Issuer, string audience = Audience, string secret = HmacSecret, string keyId = HmacKeyId,
        string role = "user", bool includeJti = true, DateTime? issuedAt = null)
    {
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)) { KeyId = keyId };
        return Create(userId, jti, expires, notBefore, issuer, audience, new SigningCredentials(key, SecurityAlgorithms.HmacSha256), role, includeJti, issuedAt);
    }

    public string Rs256(string userId, string? jti = null, string keyId = RsaKeyId)
    {
        var key = new RsaSecurityKey(_rsa) { KeyId = keyId };
        return Create(userId, jti, null, null, Issuer, Audience, new SigningCredentials(key, SecurityAlgorithms.RsaSha256), "user", true, null);
    }

    /// <summary>The algorithm-confusion attack: HS256 keyed with the RSA public key's text, naming the RSA key.</summary>
    public string Hs256SignedWithRsaPublicKey(string userId) =>
        Hs256(userId, secret: RsaPublicKeyPem, keyId: RsaKeyId);

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public static string Unsigned(string userId)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Encode(new { alg = "none", typ = "JWT" });
        var payload = Encode(new { sub = userId, jti = Guid.NewGuid().ToString("N"), iss = Issuer, aud = Audience, iat = now, nbf = now, exp = now + 600 });
        return $"{header}.{payload}.";
    }

    private static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));

    private static string Create(string userId, string? jti, DateTime? expires, DateTime? notBefore, string issuer, string audience,
        SigningCredentials credentials, string role, bool includeJti, DateTime? issuedAt)
    {
        var now = DateTime.UtcNow;
        var claims = new List<Claim> { new("sub", userId), new("role", role) };
        if (includeJti)
            claims.Add(new Claim("jti", jti ?? Guid.NewGuid().ToString("N")));
        var exp = expires ?? now.AddMinutes(10);
        var nbf = notBefore ?? (exp < now ? exp.AddMinutes(-10) : now.AddMinutes(-1));
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = issuedAt ?? (nbf < now ? nbf : now),
            NotBefore = nbf,
            Expires = exp,
            Subject = new ClaimsIdentity(claims),
            SigningCredentials = credentials,
        });
    }
}
