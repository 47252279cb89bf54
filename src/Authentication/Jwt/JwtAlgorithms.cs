namespace Vocab.Authentication.Jwt;

/// <summary>The only signature algorithms accepted; anything else, <c>none</c> included, is refused.</summary>
public static class JwtAlgorithms
{
    /// <summary>HMAC with SHA-256, a shared secret.</summary>
    public const string HS256 = "HS256";

    /// <summary>RSA PKCS#1 with SHA-256, a public key.</summary>
    public const string RS256 = "RS256";

    /// <summary>Both.</summary>
    public static readonly IReadOnlyList<string> Allowed = [HS256, RS256];
}
