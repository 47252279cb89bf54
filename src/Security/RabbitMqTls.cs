using RabbitMQ.Client;

namespace Vocab.Security;

/// <summary>The TLS settings of a RabbitMQ connection: server certificate checked against the configured CA, optional client certificate.</summary>
public static class RabbitMqTls
{
    /// <summary>True for an <c>amqps://</c> address.</summary>
    public static bool IsTls(Uri address) => string.Equals(address.Scheme, "amqps", StringComparison.OrdinalIgnoreCase);

    /// <summary>The <see cref="SslOption"/> for RabbitMQ.Client connections to <paramref name="address"/>.</summary>
    public static SslOption SslOption(Uri address, RabbitMqConnectionOptions options, Action<string>? onRejected = null)
    {
        var ssl = new SslOption(address.Host, enabled: IsTls(address))
        {
            CertificateValidationCallback = CertificateTrust.Validator(options.CaCertificatePath, "RabbitMq:CaCertificatePath", onRejected),
        };
        if (CertificateTrust.LoadClientCertificate(options.ClientCertificatePath, options.ClientKeyPath, options.ClientCertificatePassword) is { } client)
            ssl.Certs = new System.Security.Cryptography.X509Certificates.X509CertificateCollection { client };
        return ssl;
    }
}
