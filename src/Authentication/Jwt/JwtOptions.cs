namespace Vocab.Authentication.Jwt;

/// <summary>
/// How JWTs are checked: <c>Jwt:*</c>. Keys come from configuration (several at once, chosen by <c>kid</c>, for rotation
/// without downtime), from an OpenID Connect provider (<see cref="Authority"/> or <see cref="JwksUri"/>), or both.
/// </summary>
public sealed class JwtOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Jwt";

    /// <summary>The one accepted <c>iss</c>.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>The one accepted <c>aud</c>.</summary>
    public string Audience { get; set; } = "";

    /// <summary>Tolerance on <c>exp</c>, <c>nbf</c> and <c>iat</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest lifetime a token may have, judged from <c>iat</c> (<c>exp − iat</c>) and from now
    /// (<c>exp − now ≤ MaxLifetime + ClockSkew</c>); longer-lived tokens are refused.
    /// </summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// The claim holding the user id (a JSON string, or an integer taken as its decimal digits). Empty: <c>sub</c>, or
    /// <c>user_id</c> when there is no <c>sub</c>.
    /// </summary>
    public string UserIdClaim { get; set; } = "";

    /// <summary>The claim holding the role: one string, or an array of strings holding exactly one known role.</summary>
    public string RoleClaim { get; set; } = "role";

    /// <summary>
    /// Whether a token must carry a <c>jti</c>. Without one a token cannot be revoked on its own, only with every token
    /// of its user (<c>vocabctl tokens revoke-user</c>).
    /// </summary>
    public bool RequireTokenId { get; set; } = true;

    /// <summary>An OpenID Connect provider whose discovery document (<c>/.well-known/openid-configuration</c>) names the signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>A JSON Web Key Set address, for a provider without discovery; not together with <see cref="Authority"/>.</summary>
    public string? JwksUri { get; set; }

    /// <summary>Whether the provider's addresses must be HTTPS. Only a local test provider turns this off.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>How often the provider's keys are fetched again.</summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The least time between two fetches caused by a token naming an unknown <c>kid</c> (a rotation the service has not
    /// yet seen), and the longest wait between retries while the provider cannot be reached.
    /// </summary>
    public TimeSpan UnknownKeyRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The signing keys.</summary>
    public List<JwtKeyOptions> Keys { get; set; } = [];

    /// <summary>True when keys come from an identity provider.</summary>
    public bool UsesProvider => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(JwksUri);
}
