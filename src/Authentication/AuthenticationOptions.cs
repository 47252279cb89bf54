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

    /// <summary>The roles that may request vocabulary; any other role is refused as forbidden.</summary>
    [MinLength(1, ErrorMessage = "Authentication:AllowedRoles needs at least one role.")]
    public string[] AllowedRoles { get; set; } = [Roles.User, Roles.Premium, Roles.Admin];
}
