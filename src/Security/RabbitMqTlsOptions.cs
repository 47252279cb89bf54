namespace Vocab.Security;

/// <summary>TLS to RabbitMQ (<c>RabbitMq:*</c>), used when <c>ConnectionStrings:RabbitMq</c> is an <c>amqps://</c> address.</summary>
public sealed class RabbitMqTlsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "RabbitMq";

    /// <summary>A PEM CA certificate that alone is trusted for the broker's certificate; unset: the system store.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>A client certificate for brokers that require mutual TLS: PKCS#12, or PEM with <see cref="ClientKeyPath"/>.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="ClientCertificatePath"/>.</summary>
    public string? ClientKeyPath { get; set; }

    /// <summary>The PKCS#12 file's password (a secret).</summary>
    public string? ClientCertificatePassword { get; set; }
}
