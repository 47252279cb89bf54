using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Vocab.Security;

namespace Vocab.Messaging;

/// <summary>Points a MassTransit RabbitMQ bus at its broker (or cluster), over TLS when the address is <c>amqps://</c>.</summary>
public static partial class RabbitMqBusTlsExtensions
{
    /// <summary>
    /// Configures the host at <paramref name="address"/> with the container's <see cref="RabbitMqConnectionOptions"/>,
    /// logging a TLS refusal under <paramref name="loggerCategory"/>.
    /// </summary>
    public static void VocabHost(this IRabbitMqBusFactoryConfigurator rabbit, IServiceProvider services, Uri address, string loggerCategory) =>
        rabbit.VocabHost(address, services.GetRequiredService<IOptions<RabbitMqConnectionOptions>>().Value,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(loggerCategory));

    /// <summary>
    /// Configures the host. Over TLS the broker's certificate must name the host and chain to
    /// <c>RabbitMq:CaCertificatePath</c> (or the system store); a refusal is logged once per attempt, naming that setting.
    /// </summary>
    public static void VocabHost(this IRabbitMqBusFactoryConfigurator rabbit, Uri address, RabbitMqConnectionOptions tls, ILogger logger)
    {
        rabbit.Host(address, host =>
        {
            if (tls.Hosts.Length > 0)
                host.UseCluster(cluster =>
                {
                    foreach (var node in tls.Hosts)
                        cluster.Node(node);
                });
            if (!RabbitMqTls.IsTls(address))
                return;
            host.UseSsl(ssl =>
            {
                ssl.ServerName = address.Host;
                ssl.CertificateValidationCallback = CertificateTrust.Validator(tls.CaCertificatePath, "RabbitMq:CaCertificatePath",
                    why => LogRefused(logger, address.Host, address.Port, why));
                if (CertificateTrust.LoadClientCertificate(tls.ClientCertificatePath, tls.ClientKeyPath, tls.ClientCertificatePassword) is { } client)
                    ssl.Certificate = client;
            });
        });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "RabbitMQ at {Host}:{Port} refused over TLS: {Why}")]
    private static partial void LogRefused(ILogger logger, string host, int port, string why);
}
