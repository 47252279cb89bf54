using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Messaging;
using Vocab.Worker.Consumers;
using Vocab.Worker.DeadLetter;
using Vocab.Worker.Filters;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Extensions;

/// <summary>The worker's bus: one receive endpoint, authentication before every consumer, a dead-letter pipe without secrets.</summary>
public static class MessagingExtensions
{
    /// <summary>Adds MassTransit over RabbitMQ with the <c>generate-vocabulary</c> endpoint.</summary>
    public static IHostApplicationBuilder AddVocabMessaging(this IHostApplicationBuilder builder) =>
        builder.AddVocabMessaging(typeof(AuthenticationFilter<>));

    /// <summary>
    /// The same, with another filter putting the caller on the consume context: only the benchmark's
    /// no-authentication baseline uses this, to measure what <see cref="AuthenticationFilter{T}"/> costs.
    /// </summary>
    internal static IHostApplicationBuilder AddVocabMessaging(this IHostApplicationBuilder builder, Type callerFilter)
    {
        var services = builder.Services;
        services.AddOptions<MessagingOptions>()
            .BindConfiguration(MessagingOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.ConnectionString = configuration.GetConnectionString("RabbitMq") ?? "")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<MassTransitHostOptions>().Configure(options =>
        {
            options.WaitUntilStarted = true;
            options.StartTimeout = TimeSpan.FromSeconds(60);
            options.StopTimeout = TimeSpan.FromSeconds(30);
        });

        services.AddMassTransit(bus =>
        {
            // MassTransit reports usage to its vendor over the internet unless told not to: nothing leaves this service.
            bus.ConfigureUsageTelemetryOptions(telemetry => telemetry.Enabled = false);
            bus.AddConsumer<GenerateVocabularyConsumer>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var options = context.GetRequiredService<IOptions<MessagingOptions>>().Value;
                var llm = context.GetRequiredService<IOptions<LlmOptions>>().Value;
                rabbit.VocabHost(new Uri(options.ConnectionString), context.GetRequiredService<IOptions<RabbitMqConnectionOptions>>().Value,
                    context.GetRequiredService<ILoggerFactory>().CreateLogger("Vocab.Worker.RabbitMq"));

                var errorQueue = new FilingQueue(options.ErrorQueueName, options.DeclaredQueueArguments);
                var refusedQueue = context.GetRequiredService<IOptions<DeadLetterOptions>>().Value.RefusedQueue(options);
                var copies = context.GetRequiredService<ScrubbedCopyWriter>();
                var credentialRemoval = new CredentialHeaderRemovalObserver();
                rabbit.ConnectSendObserver(credentialRemoval);
                rabbit.ConnectPublishObserver(credentialRemoval);

                rabbit.ReceiveEndpoint(options.QueueName, endpoint =>
                {
                    endpoint.PrefetchCount = options.PrefetchCount;
                    endpoint.ConcurrentMessageLimit = options.ConcurrentMessageLimit;
                    if (options.IsQuorum)
                    {
                        // Replicated across the cluster; a message delivered DeliveryLimit times goes to quarantine, and from
                        // there to _error with delivery_limit_exceeded, instead of being redelivered for ever. At-least-once
                        // dead-lettering keeps it safe while it moves.
                        endpoint.SetQuorumQueue();
                        endpoint.SetQueueArgument("x-delivery-limit", options.DeliveryLimit);
                        endpoint.SetQueueArgument("x-dead-letter-exchange", options.QuarantineQueueName);
                        endpoint.SetQueueArgument("x-dead-letter-strategy", "at-least-once");
                        endpoint.SetQueueArgument("x-overflow", "reject-publish");
                    }
                    // Plain JSON from non-.NET publishers (and messages with no content type) next to MassTransit envelopes.
                    endpoint.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType, isDefault: true);

                    // Both dead-letter paths write a scrubbed copy of their own instead of MassTransit's verbatim move.
                    endpoint.ConfigureError(error =>
                    {
                        error.UseFilter(new DeadLetterReasonFilter(context.GetRequiredService<ILogger<DeadLetterReasonFilter>>()));
                        error.UseFilter(new FaultUnlessRejectedFilter());
                        error.UseFilter(new ScrubbedErrorTransportFilter(errorQueue, refusedQueue, copies));
                    });
                    endpoint.ConfigureDeadLetter(skipped => skipped.UseFilter(
                        new ScrubbedSkippedTransportFilter(new FilingQueue(options.SkippedQueueName, options.DeclaredQueueArguments), copies)));

                    if (llm.RetryLimit > 0)
                    {
                        endpoint.UseMessageRetry(retry =>
                        {
                            retry.Exponential(llm.RetryLimit, llm.RetryMinInterval, llm.RetryMaxInterval, llm.RetryMinInterval);
                            retry.Ignore<CredentialRejectedException>();
                            retry.Ignore<InvalidRequestException>();
                            retry.Ignore<PlanRefusedException>();
                            // Unusable answers have their own, smaller budget (Llm:InvalidOutputRetryLimit) in the generator.
                            retry.Ignore<LlmInvalidOutputException>();
                            retry.Ignore<System.Runtime.Serialization.SerializationException>();
                            retry.Ignore<System.Text.Json.JsonException>();
                        });
                    }

                    endpoint.UseConsumeFilter(callerFilter, context);
                    endpoint.UseConsumeFilter(typeof(RequestAdmissionFilter<>), context);
                    endpoint.ConfigureConsumer<GenerateVocabularyConsumer>(context);
                });

                rabbit.ReceiveEndpoint(options.QuarantineQueueName, quarantine =>
                {
                    // No consumer: every message here ends in one of the two pipes below, which file it scrubbed.
                    quarantine.ConfigureConsumeTopology = false;
                    quarantine.PrefetchCount = 16;
                    if (options.IsQuorum)
                        quarantine.SetQuorumQueue();
                    var logger = context.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BrokerDeadLetterFilingFilter<>).FullName!);
                    quarantine.ConfigureDeadLetter(pipe => pipe.UseFilter(new BrokerDeadLetterFilingFilter<ReceiveContext>(errorQueue, copies, logger)));
                    quarantine.ConfigureError(pipe => pipe.UseFilter(new BrokerDeadLetterFilingFilter<ExceptionReceiveContext>(errorQueue, copies, logger)));
                });
            });
        });
        return builder;
    }
}
