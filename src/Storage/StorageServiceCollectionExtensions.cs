using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MongoDB.Driver;
using MongoDB.Driver.Core.Events;
using Vocab.Security;

namespace Vocab.Storage;

/// <summary>Registers MongoDB plumbing: options validated at start, one client per process, the database, index set-up and the health check.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>Adds Vocab's MongoDB services.</summary>
    public static IHostApplicationBuilder AddVocabStorage(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<MongoOptions>()
            .BindConfiguration(MongoOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) =>
                options.ConnectionString = configuration.GetConnectionString("Mongo") ?? "")
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton<IMongoClient>(sp =>
        {
            var mongo = sp.GetRequiredService<IOptions<MongoOptions>>().Value;
            var connectionString = mongo.ConnectionString;
            var settings = MongoClientSettings.FromConnectionString(connectionString);
            // Fail a request within seconds rather than the driver's 30 s when MongoDB is down, unless the URI says otherwise.
            if (!connectionString.Contains("serverSelectionTimeoutMS", StringComparison.OrdinalIgnoreCase))
                settings.ServerSelectionTimeout = TimeSpan.FromSeconds(10);
            // tls=true in the address turns TLS on; a private CA is trusted alone, as for RabbitMQ.
            if (!string.IsNullOrWhiteSpace(mongo.CaCertificatePath))
                settings.SslSettings = new SslSettings { ServerCertificateValidationCallback = CertificateTrust.Validator(mongo.CaCertificatePath, "Mongo:CaCertificatePath") };
            var commands = sp.GetRequiredService<MongoCommandMetrics>();
            settings.ClusterConfigurator = cluster => cluster.Subscribe<CommandStartedEvent>(commands.Started)
                .Subscribe<CommandSucceededEvent>(commands.Succeeded)
                .Subscribe<CommandFailedEvent>(commands.Failed);
            return new MongoClient(settings);
        });
        services.AddMetrics();
        services.TryAddSingleton<MongoCommandMetrics>();
        services.TryAddSingleton<VocabDatabase>();
        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(d => d.ServiceType == typeof(MongoHealthCheck)))
        {
            services.AddSingleton<MongoHealthCheck>();
            services.AddHealthChecks().AddCheck<MongoHealthCheck>("mongodb", tags: [MongoHealthCheck.ReadyTag]);
        }
        if (!services.Any(d => d.ServiceType == typeof(MongoIndexInitializer)))
        {
            services.AddSingleton<MongoIndexInitializer>();
            services.AddHostedService(sp => sp.GetRequiredService<MongoIndexInitializer>());
        }
        return builder;
    }
}
