using Vocab.Authentication;
using Vocab.Messaging;
using Vocab.Plans;
using Vocab.Security;
using Vocab.Vocabularies;
using Vocab.Worker.DeadLetter;
using Vocab.ServiceDefaults;

namespace Vocab.Worker.Extensions;

/// <summary>Everything the worker process runs, in one call, so tests host exactly what production runs.</summary>
public static class WorkerExtensions
{
    /// <summary>Adds logging, telemetry, MongoDB, authentication, the LLM, signed dead letters and the bus.</summary>
    public static IHostApplicationBuilder AddVocabWorker(this IHostApplicationBuilder builder) =>
        builder
            .AddVocabLogging()
            .AddVocabTelemetry()
            .AddTransportSecurity("ConnectionStrings:RabbitMq", "ConnectionStrings:Mongo", "Llm:Endpoint")
            .AddRabbitMqConnection()
            .AddVocabAuthentication()
            .AddVocabPlans()
            .AddVocabularies()
            .AddVocabularyGeneration()
            .AddVocabDeadLetters()
            .AddVocabMessaging()
            .AddHealthFile();

    private static IHostApplicationBuilder AddHealthFile(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HealthFileOptions>().BindConfiguration(HealthFileOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<HealthFileReporter>();
        return builder;
    }
}
