using System.ComponentModel.DataAnnotations;

namespace Vocab.Ops;

/// <summary>The console's own settings (<c>Ops:*</c>; the failure store's are in <see cref="Failures.FailureOptions"/>).</summary>
public sealed class OpsOptions
{
    public const string SectionName = "Ops";

    /// <summary>How long a sign-in lasts; the credential is not asked again before.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00", ErrorMessage = "Ops:SessionLifetime must be between 1 minute and 1 day.")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Failed sign-ins that could be guesses, per client address per minute (the bridge's throttle).</summary>
    [Range(1, 100_000, ErrorMessage = "Ops:FailedSignInsPerMinute must be between 1 and 100000.")]
    public int FailedSignInsPerMinute { get; set; } = 10;

    /// <summary>The most client addresses the sign-in throttle holds.</summary>
    [Range(100, 10_000_000, ErrorMessage = "Ops:ThrottledAddressLimit must be between 100 and 10000000.")]
    public int ThrottledAddressLimit { get; set; } = 100_000;

    /// <summary>The RabbitMQ management API (e.g. https://rabbitmq:15671/), for queue depths on the system page.</summary>
    [Required(ErrorMessage = "Ops:ManagementUri is required: the RabbitMQ management API's address (e.g. http://127.0.0.1:15672/).")]
    [Url(ErrorMessage = "Ops:ManagementUri must be an http(s) address.")]
    public string ManagementUri { get; set; } = "";

    /// <summary>The management API's user: a <c>management</c>-tagged account that sees the vhost (vocab-ops in the definitions).</summary>
    [Required(ErrorMessage = "Ops:ManagementUser is required.")]
    public string ManagementUser { get; set; } = "";

    /// <summary>That account's password (a secret: from the environment, e.g. compose's RABBITMQ_OPS_PASSWORD).</summary>
    [Required(ErrorMessage = "Ops:ManagementPassword is required: the password of Ops:ManagementUser on the RabbitMQ management API.")]
    public string ManagementPassword { get; set; } = "";

    /// <summary>The broker's virtual host whose queues the system page shows.</summary>
    public string VirtualHost { get; set; } = "/";
}
