using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Messaging;
using Vocab.Plans;
using Vocab.Security;
using Vocab.ServiceDefaults;
using Vocab.Vocabularies;
using Vocab.Worker.Consumers;
using Vocab.Worker.DeadLetter;
using Vocab.Worker.Extensions;
using Vocab.Worker.Messaging;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>
/// The no-authentication baseline: the worker composed from the same public pieces as <c>AddVocabWorker</c>
/// (src/Worker/Extensions/WorkerExtensions.cs and MessagingExtensions.cs), with <see cref="FixedCallerFilter{T}"/> where
/// <c>UseCallerAuthentication</c> would be. Keep the two in step: the difference between them is what the benchmark reports.
/// </summary>
public static class BaselineWorker
{
    public static IHostApplicationBuilder AddVocabWorkerWithoutAuthentication(this IHostApplicationBuilder builder)
    {
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
            .AddWorkerBusOptions();
        builder.Services.AddVocabBusServices();
        builder.Services.AddSingleton(typeof(FixedCallerFilter<>));
        builder.Services.AddMassTransit(bus =>
        {
            bus.DisableUsageTelemetry();
            bus.AddConsumer<GenerateVocabularyConsumer>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var options = context.GetRequiredService<IOptions<MessagingOptions>>().Value;
                rabbit.VocabHost(context, new Uri(options.ConnectionString), "Vocab.Worker.RabbitMq");
                rabbit.UseCredentialHeaderRemoval(context);
                rabbit.ReceiveEndpoint(options.QueueName, endpoint =>
                {
                    endpoint.ConfigureInputQueue(options);
                    endpoint.UseRawJsonNextToEnvelopes();
                    endpoint.UseScrubbedDeadLetters(context);
                    // In this order, per message: the outcome's owner, the size limit, the caller, its fair share, admission, then the
                    // consumer with its retries.
                    endpoint.UseRequestOutcome(context);
                    endpoint.UseMessageSizeLimit(context);
                    endpoint.UseConsumeFilter(typeof(FixedCallerFilter<>), context);
                    endpoint.UseFairShare(context);
                    endpoint.UseRequestAdmission(context);
                    endpoint.ConfigureConsumer<GenerateVocabularyConsumer>(context, consumer => consumer.UseLlmRetryPolicy(context));
                });
                rabbit.UseQuarantineEndpoint(context, options);
            });
        });
        return builder;
    }
}
