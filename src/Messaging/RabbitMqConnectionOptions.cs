namespace Vocab.Messaging;

/// <summary>
/// How to reach RabbitMQ beyond <c>ConnectionStrings:RabbitMq</c> (<c>RabbitMq:*</c>): the other nodes of a cluster, and TLS
/// (used when the address is <c>amqps://</c>).
/// </summary>
public sealed class RabbitMqConnectionOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "RabbitMq";

    /// <summary>
    /// A cluster's nodes, <c>host</c> or <c>host:port</c>; the connection string's host is one of them. A lost connection
    /// moves to a surviving node. Empty: the connection string's host alone.
    /// </summary>
    public string[] Hosts { get; set; } = [];

    /// <summary>A PEM CA certificate that alone is trusted for the broker's certificate; unset: the system store.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>A client certificate for brokers that require mutual TLS: PKCS#12, or PEM with <see cref="ClientKeyPath"/>.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="ClientCertificatePath"/>.</summary>
    public string? ClientKeyPath { get; set; }

    /// <summary>The PKCS#12 file's password (a secret).</summary>
    public string? ClientCertificatePassword { get; set; }
}
