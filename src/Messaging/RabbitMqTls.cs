using RabbitMQ.Client;
using Vocab.Security;

namespace Vocab.Messaging;

/// <summary>The TLS settings of a RabbitMQ connection: server certificate checked against the configured CA, optional client certificate.</summary>
public static class RabbitMqTls
{
    /// <summary>The AMQPS port, on which MassTransit turns TLS on by itself whatever the scheme.</summary>
    public const int AmqpsPort = 5671;

    /// <summary>
    /// True when the connection will be TLS: an <c>amqps://</c> or <c>rabbitmqs://</c> address, or any address on port
    /// 5671. MassTransit turns TLS on for all of these with its own default checks, so each gets ours instead.
    /// </summary>
    public static bool IsTls(Uri address) =>
        address.Scheme.Equals("amqps", StringComparison.OrdinalIgnoreCase) ||
        address.Scheme.Equals("rabbitmqs", StringComparison.OrdinalIgnoreCase) ||
        address.Port == AmqpsPort;

    /// <summary>
    /// <paramref name="address"/> in the schemes RabbitMQ.Client knows: MassTransit's <c>rabbitmq://</c> and <c>rabbitmqs://</c>
    /// become <c>amqp://</c> and <c>amqps://</c>, so a setting means the same to vocabctl as to the worker.
    /// </summary>
    public static Uri ClientAddress(Uri address)
    {
        var scheme = address.Scheme.ToLowerInvariant() switch
        {
            "rabbitmq" => "amqp",
            "rabbitmqs" => "amqps",
            _ => address.Scheme,
        };
        if (scheme == address.Scheme)
            return address;
        var port = address.IsDefaultPort ? (scheme == "amqps" ? AmqpsPort : 5672) : address.Port;
        return new UriBuilder(address) { Scheme = scheme, Port = port }.Uri;
    }

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
