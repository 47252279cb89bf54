using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Vocab.Authentication;
using Vocab.Messaging;
using Vocab.Messaging.DeadLetters;
using Vocab.Storage;

namespace Vocab.Failures;

/// <summary>Registers the failure store, its reader, replayer and broker connection (not the ingestion service: see <see cref="AddFailureIngestion"/>).</summary>
public static class FailuresServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddVocabFailures(this IHostApplicationBuilder builder)
    {
        builder.AddVocabAuthentication();
        builder.AddDeadLetterSigning();
        var services = builder.Services;
        services.AddOptions<FailureOptions>().BindConfiguration(FailureOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<FailureStore>();
        services.TryAddSingleton<FailureReader>();
        services.TryAddSingleton<FailureIngestor>();
        services.TryAddSingleton<BrokerConnection>();
        services.TryAddSingleton<JwtTokenIssuer>();
        services.TryAddSingleton<FailureReplayer>();
        services.TryAddSingleton<AuditLog>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMongoIndexSetup, FailureIndexes>());
        return builder;
    }

    /// <summary>Also consumes the dead-letter queues into the store while the host runs.</summary>
    public static IHostApplicationBuilder AddFailureIngestion(this IHostApplicationBuilder builder)
    {
        builder.AddVocabFailures();
        builder.Services.AddHostedService<FailureIngestionService>();
        return builder;
    }
}
