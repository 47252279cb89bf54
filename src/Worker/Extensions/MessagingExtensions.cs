using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Messaging;
using Vocab.Worker.Consumers;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Extensions;

/// <summary>The worker's bus: one receive endpoint, authentication before every consumer, a dead-letter pipe without secrets.</summary>
public static class MessagingExtensions
{
    /// <summary>Adds MassTransit over RabbitMQ with the <c>generate-vocabulary</c> endpoint and its quarantine.</summary>
    public static IHostApplicationBuilder AddVocabMessaging(this IHostApplicationBuilder builder)
    {
        builder.AddWorkerBusOptions();
        builder.Services.AddVocabBusServices();
        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit reports usage to its vendor over the internet unless told not to: nothing leaves this service.
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
                    // In this order, per message: the outcome's owner, its size, the caller, its fair share, admission, then the consumer with its retries.
                    endpoint.UseRequestOutcome(context);
                    endpoint.UseMessageSizeLimit(context);
                    endpoint.UseCallerAuthentication(context);
                    endpoint.UseFairShare(context);
                    endpoint.UseRequestAdmission(context);
                    endpoint.ConfigureConsumer<GenerateVocabularyConsumer>(context, consumer => consumer.UseLlmRetryPolicy(context));
                });
                rabbit.UseQuarantineEndpoint(context, options);
            });
        });
        return builder;
    }

    /// <summary>
    /// <see cref="MessagingOptions"/> (<c>ConnectionStrings:RabbitMq</c>, <c>Worker:*</c>) validated at start, and how long
    /// the host waits for the bus to start and stop.
    /// </summary>
    public static IHostApplicationBuilder AddWorkerBusOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MessagingOptions>()
            .BindConfiguration(MessagingOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.ConnectionString = configuration.GetConnectionString("RabbitMq") ?? "")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<MassTransitHostOptions>().Configure<IOptions<MessagingOptions>>((options, messaging) =>
        {
            options.WaitUntilStarted = true;
            options.StartTimeout = TimeSpan.FromSeconds(60);
            options.StopTimeout = TimeSpan.FromSeconds(30);
            options.ConsumerStopTimeout = messaging.Value.ConsumerStopTimeout;
        });
        return builder;
    }
}
