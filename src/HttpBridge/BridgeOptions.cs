using System.ComponentModel.DataAnnotations;

namespace Vocab.HttpBridge;

/// <summary>The bridge's settings: <c>ConnectionStrings:RabbitMq</c> and <c>Bridge:*</c>.</summary>
public sealed class BridgeOptions : IValidatableObject
{
    public const string SectionName = "Bridge";

    [Required(ErrorMessage = "ConnectionStrings:RabbitMq is required (e.g. amqp://vocab-bridge:password@localhost:5672/).")]
    public string RabbitMqConnectionString { get; set; } = "";

    /// <summary>The worker's queue.</summary>
    [Required(ErrorMessage = "Bridge:QueueName is required.")]
    public string QueueName { get; set; } = Vocab.Messaging.QueueNames.DefaultInput;

    /// <summary>How long a caller waits for the worker before a 504.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Bridge:RequestTimeout must be between 100 ms and 10 minutes.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Requests per user per minute before a 429.</summary>
    [Range(1, 100_000, ErrorMessage = "Bridge:PermitsPerMinute must be between 1 and 100000.")]
    public int PermitsPerMinute { get; set; } = 60;

    /// <summary>
    /// Failed authentications that could be guesses (unknown key, bad signature, unreadable) per client address per
    /// minute; beyond it such failures are answered 429. Valid credentials are served whatever the count.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "Bridge:FailedAuthenticationsPerMinute must be between 1 and 100000.")]
    public int FailedAuthenticationsPerMinute { get; set; } = 30;

    /// <summary>The most client addresses the failed-authentication throttle holds; the least recently seen go first.</summary>
    [Range(100, 10_000_000, ErrorMessage = "Bridge:ThrottledAddressLimit must be between 100 and 10000000.")]
    public int ThrottledAddressLimit { get; set; } = 100_000;

    /// <summary>
    /// Keys the requestId an <c>Idempotency-Key</c> becomes (HMAC-SHA256), so that no publisher can compute a caller's
    /// and claim it first; the same on every bridge instance. Empty: an unkeyed hash. At least 32 bytes when set.
    /// </summary>
    public string IdempotencySecret { get; set; } = "";

    /// <summary><see cref="IdempotencySecret"/> as bytes; null when unset.</summary>
    public byte[]? IdempotencySecretBytes() => IdempotencySecret.Length == 0 ? null : System.Text.Encoding.UTF8.GetBytes(IdempotencySecret);

    /// <summary>Addresses or CIDR networks of known backends, exempt from the failed-authentication throttle.</summary>
    public string[] TrustedClients { get; set; } = [];

    /// <summary>
    /// Addresses or CIDR networks of TLS-terminating proxies whose <c>X-Forwarded-For</c> / <c>-Proto</c> are believed;
    /// empty: none (not even loopback).
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary><see cref="TrustedClients"/> as networks (an address is a network of one).</summary>
    public IReadOnlyList<System.Net.IPNetwork> TrustedClientNetworks() =>
        TrustedClients.Select(entry => TryParseNetwork(entry, out var network)
            ? network
            : throw new InvalidOperationException($"Bridge:TrustedClients has '{entry}', which is neither an IP address nor a CIDR network.")).ToList();

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (IdempotencySecret.Length > 0 && System.Text.Encoding.UTF8.GetByteCount(IdempotencySecret) < 32)
            yield return new ValidationResult("Bridge:IdempotencySecret must be at least 32 bytes when set.");
        for (var i = 0; i < TrustedClients.Length; i++)
        {
            if (!TryParseNetwork(TrustedClients[i], out _))
                yield return new ValidationResult($"Bridge:TrustedClients:{i} ('{TrustedClients[i]}') is neither an IP address nor a CIDR network.");
        }
        for (var i = 0; i < TrustedProxies.Length; i++)
        {
            if (!TryParseNetwork(TrustedProxies[i], out _))
                yield return new ValidationResult($"Bridge:TrustedProxies:{i} ('{TrustedProxies[i]}') is neither an IP address nor a CIDR network.");
        }
    }

    private static bool TryParseNetwork(string entry, out System.Net.IPNetwork network)
    {
        if (System.Net.IPNetwork.TryParse(entry.Trim(), out network))
            return true;
        if (System.Net.IPAddress.TryParse(entry.Trim(), out var address))
        {
            network = new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        return false;
    }
}
