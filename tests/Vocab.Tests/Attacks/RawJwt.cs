using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Vocab.TestSupport;

namespace Vocab.Tests.Attacks;

/// <summary>Hand-built JWTs for the attack corpus: any header, any claims, signed HS256 (or not at all) with any secret.</summary>
public static class RawJwt
{
    public static JsonObject Header(string alg = "HS256", string? kid = TestTokens.HmacKeyId, string? typ = "JWT")
    {
        var header = new JsonObject { ["alg"] = alg };
        if (kid is not null)
            header["kid"] = kid;
        if (typ is not null)
            header["typ"] = typ;
        return header;
    }

    public static JsonObject Claims(string user = "attacker", string? role = "user")
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new JsonObject
        {
            ["sub"] = user, ["jti"] = Guid.NewGuid().ToString("N"), ["iss"] = TestTokens.Issuer, ["aud"] = TestTokens.Audience,
            ["iat"] = now - 10, ["nbf"] = now - 10, ["exp"] = now + 600,
        };
        if (role is not null)
            claims["role"] = role;
        return claims;
    }

    public static string Sign(JsonObject header, JsonObject claims, string secret = TestTokens.HmacSecret, bool hmac512 = false)
    {
        var signingInput = Encode(header.ToJsonString()) + "." + Encode(claims.ToJsonString());
        var key = Encoding.UTF8.GetBytes(secret);
        var data = Encoding.ASCII.GetBytes(signingInput);
        var signature = hmac512 ? HMACSHA512.HashData(key, data) : HMACSHA256.HashData(key, data);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    public static string Encode(string text) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
}
