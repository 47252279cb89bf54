using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Messaging;
using Vocab.Plans;
using Vocab.Security;
using Vocab.Storage;
using Vocab.Vocabularies;
using Vocab.Worker.DeadLetter;
using Vocab.ServiceDefaults;

namespace Vocab.Worker.Extensions;

/// <summary>Everything the worker process runs, in one call, so tests host exactly what production runs.</summary>
public static class WorkerExtensions
{
    /// <summary>Adds logging, telemetry, MongoDB, authentication, the LLM, signed dead letters, settlements and the bus.</summary>
    public static IHostApplicationBuilder AddVocabWorker(this IHostApplicationBuilder builder) =>
        builder
            .AddVocabLogging()
            .AddVocabTelemetry()
            .AddTransportSecurity(builder.Configuration.GetValue<bool>("Llm:AllowPlaintextEndpoint")
                ? ["ConnectionStrings:RabbitMq", "ConnectionStrings:Mongo"]
                : ["ConnectionStrings:RabbitMq", "ConnectionStrings:Mongo", "Llm:Endpoint"])
            .AddRabbitMqConnection()
            .AddVocabAuthentication()
            .AddVocabPlans()
            .AddVocabularies()
            .AddVocabularyGeneration()
            .AddVocabDeadLetters()
            .AddDeferredSettlement()
            .AddVocabMessaging()
            .AddHealthFile();

    private static IHostApplicationBuilder AddHealthFile(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HealthFileOptions>().BindConfiguration(HealthFileOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IHealthCheckPublisher, HealthFilePublisher>();
        // The framework's publisher runs only the ready checks, at once and then every Health:Interval.
        builder.Services.AddOptions<HealthCheckPublisherOptions>().Configure<IOptions<HealthFileOptions>>((publisher, health) =>
        {
            publisher.Delay = TimeSpan.Zero;
            publisher.Period = health.Value.Interval;
            publisher.Predicate = check => check.Tags.Contains(MongoHealthCheck.ReadyTag);
        });
        return builder;
    }
}
