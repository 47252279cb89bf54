using System.ComponentModel.DataAnnotations;

namespace Vocab.Authentication;

/// <summary>How credentials are checked: <c>Authentication:*</c>.</summary>
public sealed class AuthenticationOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Authentication";

    /// <summary>
    /// How long a key or revocation lookup is cached. This is the bound on how long a revoked key or jti keeps working.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Authentication:CacheDuration must be between 0 and 60 seconds.")]
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often API keys' last-use times are written back (one write per key per interval, not per message).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Authentication:LastUsedFlushInterval must be between 1 second and 1 hour.")]
    public TimeSpan LastUsedFlushInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most lookups held in memory at once; beyond it a result is used but not kept.</summary>
    [Range(100, 10_000_000, ErrorMessage = "Authentication:CacheEntryLimit must be between 100 and 10000000.")]
    public int CacheEntryLimit { get; set; } = 20_000;

    /// <summary>
    /// The roles that may request vocabulary, as configured; any other role is refused as forbidden. Empty here on
    /// purpose: the configuration binder appends to a non-empty default instead of replacing it, so the default lives
    /// in <see cref="EffectiveAllowedRoles"/>.
    /// </summary>
    public string[] AllowedRoles { get; set; } = [];

    /// <summary>The configured roles, or every role when none is configured.</summary>
    public IReadOnlyList<string> EffectiveAllowedRoles => AllowedRoles.Length > 0 ? AllowedRoles : Roles.All;
}
