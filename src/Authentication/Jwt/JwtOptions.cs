namespace Vocab.Authentication.Jwt;

/// <summary>How JWTs are checked: <c>Jwt:*</c>. Several keys may be configured at once, chosen by <c>kid</c>, for rotation without downtime.</summary>
public sealed class JwtOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Jwt";

    /// <summary>The one accepted <c>iss</c>.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>The one accepted <c>aud</c>.</summary>
    public string Audience { get; set; } = "";

    /// <summary>Tolerance on <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest lifetime (<c>exp − iat</c>) a token may claim; longer-lived tokens are refused.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The signing keys.</summary>
    public List<JwtKeyOptions> Keys { get; set; } = [];
}
