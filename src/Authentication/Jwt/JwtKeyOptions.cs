namespace Vocab.Authentication.Jwt;

/// <summary>One signing key: <c>Jwt:Keys:N:*</c>.</summary>
public sealed class JwtKeyOptions
{
    /// <summary>The <c>kid</c> tokens name it by.</summary>
    public string Id { get; set; } = "";

    /// <summary><c>HS256</c> or <c>RS256</c>.</summary>
    public string Algorithm { get; set; } = JwtAlgorithms.HS256;

    /// <summary>The shared secret of an HS256 key (at least 32 bytes).</summary>
    public string? Secret { get; set; }

    /// <summary>The PEM public key of an RS256 key.</summary>
    public string? PublicKeyPem { get; set; }
}
