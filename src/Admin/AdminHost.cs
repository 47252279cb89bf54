using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vocab.Failures;
using Vocab.Plans;
using Vocab.Security;
using Vocab.Messaging;
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
        // The failure store, its ingestor and replayer, credentials and the dead-letter key. Checked when a command first
        // needs them (vocabctl never starts its host): an error names the setting, e.g. DeadLetter:SigningKey.
        builder.AddVocabFailures();
        builder.AddVocabPlans();
        builder.AddTransportSecurity("ConnectionStrings:RabbitMq", "ConnectionStrings:Mongo");
        builder.AddRabbitMqConnection();
        var host = builder.Build();
        // vocabctl never starts its host, so the start-up checks run here: plaintext is refused before any connection.
        _ = host.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value;
        return host;
    }

    /// <summary>Creates MongoDB indexes (idempotent) so vocabctl works on an empty database too.</summary>
    public static Task EnsureIndexesAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<MongoIndexInitializer>().CreateAllAsync(cancellationToken);
}
