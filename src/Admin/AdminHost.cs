using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vocab.Admin.DeadLetters;
using Vocab.Admin.Tokens;
using Vocab.Authentication;
using System.Security.Authentication;
using Microsoft.Extensions.Options;
using Vocab.Plans;
using Vocab.Security;
using Vocab.Messaging;
using Vocab.Messaging.DeadLetters;
using Vocab.Storage;

namespace Vocab.Admin;

/// <summary>The services vocabctl uses, from the same configuration as the worker (appsettings.json, environment).</summary>
public static class AdminHost
{
    /// <summary>Builds the services; <paramref name="overrides"/> lets tests point it at their own broker and database.</summary>
    public static IHost Build(IDictionary<string, string?>? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? Environments.Production,
        });
        if (overrides is not null)
            builder.Configuration.AddInMemoryCollection(overrides);
        builder.Logging.ClearProviders();
        builder.AddVocabAuthentication();
        builder.AddVocabPlans();
        builder.AddTransportSecurity("ConnectionStrings:RabbitMq", "ConnectionStrings:Mongo");
        builder.AddRabbitMqConnection();
        // Checked when a dlq command first needs it (vocabctl never starts its host): the error names DeadLetter:SigningKey.
        builder.AddDeadLetterSigning();
        builder.Services.AddSingleton<JwtTokenIssuer>();
        builder.Services.AddSingleton<DeadLetterReplayer>();
        // Checked when a dlq command first needs them, like the signing key.
        builder.Services.AddOptions<DeadLetterQueueOptions>()
            .BindConfiguration(DeadLetterQueueOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.ConnectionString = configuration.GetConnectionString("RabbitMq") ?? "")
            .ValidateDataAnnotations();
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DeadLetterQueueOptions>>().Value;
            var address = RabbitMqTls.ClientAddress(new Uri(options.ConnectionString));
            var tls = sp.GetRequiredService<IOptions<RabbitMqConnectionOptions>>().Value;
            return new DeadLetterQueue(address, options.QueueName, sp.GetRequiredService<DeadLetterSigner>(),
                // Thrown from the handshake, this becomes vocabctl's one-line error, naming the setting to fix.
                RabbitMqTls.SslOption(address, tls, why => throw new AuthenticationException($"RabbitMQ refused over TLS: {why}")), tls.Hosts);
        });
        var host = builder.Build();
        // vocabctl never starts its host, so the start-up checks run here: plaintext is refused before any connection.
        _ = host.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value;
        return host;
    }

    /// <summary>Creates MongoDB indexes (idempotent) so vocabctl works on an empty database too.</summary>
    public static Task EnsureIndexesAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<MongoIndexInitializer>().CreateAllAsync(cancellationToken);
}
