using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Worker.DeadLetter;
using Vocab.Worker.FairShare;
using Vocab.Worker.Filters;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.Extensions;

/// <summary>The worker's input endpoint, one concern per configurator, composed in <see cref="MessagingExtensions.AddVocabMessaging"/>.</summary>
public static class ReceiveEndpointExtensions
{
    /// <summary>Prefetch, concurrency and, for a quorum deployment, the queue's replication and delivery limit.</summary>
    public static void ConfigureInputQueue(this IRabbitMqReceiveEndpointConfigurator endpoint, MessagingOptions options)
    {
        endpoint.PrefetchCount = options.PrefetchCount;
        endpoint.ConcurrentMessageLimit = options.ConcurrentMessageLimit;
        if (!options.IsQuorum)
            return;
        // Replicated across the cluster; a message delivered DeliveryLimit times goes to quarantine, and from there to
        // _error with delivery_limit_exceeded, instead of being redelivered for ever. At-least-once dead-lettering keeps
        // it safe while it moves.
        endpoint.SetQuorumQueue();
        endpoint.SetQueueArgument("x-delivery-limit", options.DeliveryLimit);
        endpoint.SetQueueArgument("x-dead-letter-exchange", options.QuarantineQueueName);
        endpoint.SetQueueArgument("x-dead-letter-strategy", "at-least-once");
        endpoint.SetQueueArgument("x-overflow", "reject-publish");
    }

    /// <summary>Plain JSON from non-.NET publishers (and messages with no content type) next to MassTransit envelopes.</summary>
    public static void UseRawJsonNextToEnvelopes(this IReceiveEndpointConfigurator endpoint) =>
        endpoint.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType, isDefault: true);

    /// <summary>
    /// Both dead-letter paths write a scrubbed, signed copy of their own instead of MassTransit's verbatim move (and its
    /// reason-less faults): the error pipe (the outcome filter's verdict, the copy) and the skipped pipe (unknown message types).
    /// </summary>
    public static void UseScrubbedDeadLetters(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context)
    {
        endpoint.ConfigureError(error => error.UseFilter(context.GetRequiredService<ScrubbedErrorTransportFilter>()));
        endpoint.ConfigureDeadLetter(skipped => skipped.UseFilter(context.GetRequiredService<ScrubbedSkippedTransportFilter>()));
    }

    /// <summary>
    /// First in the consume pipe: the one owner of a message's final outcome (<see cref="RequestOutcomeFilter{T}"/>), outside
    /// authentication, admission and retry, so it sees only what is final.
    /// </summary>
    public static void UseRequestOutcome(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context) =>
        endpoint.UseConsumeFilter(typeof(RequestOutcomeFilter<>), context);

    /// <summary>
    /// On the consumer alone: retries the LLM call with exponential backoff (<c>Llm:Retry*</c>) under the one admission and
    /// lease its message already holds; never an invalid request or an unusable answer (which has its own, smaller budget
    /// in the generator). Credentials and plans are judged once, before.
    /// </summary>
    public static void UseLlmRetryPolicy<TConsumer>(this IConsumerConfigurator<TConsumer> consumer, IRegistrationContext context)
        where TConsumer : class
    {
        var llm = context.GetRequiredService<IOptions<LlmOptions>>().Value;
        if (llm.RetryLimit <= 0)
            return;
        consumer.UseMessageRetry(retry =>
        {
            retry.Exponential(llm.RetryLimit, llm.RetryMinInterval, llm.RetryMaxInterval, llm.RetryMinInterval);
            retry.Ignore<InvalidRequestException>();
            retry.Ignore<RequestIdReusedException>();
            retry.Ignore<LlmInvalidOutputException>();
            retry.Ignore<LlmUnavailableException>(e => !e.Retryable);
            // Bounded by Worker:SendTimeout, MassTransit's own retries of the publish included.
            retry.Ignore<ResultEventNotPublishedException>();
        });
    }

    /// <summary>Before the credential is read: a body over <c>Worker:MaxMessageBytes</c> is refused (<see cref="MessageSizeFilter{T}"/>).</summary>
    public static void UseMessageSizeLimit(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context) =>
        endpoint.UseConsumeFilter(typeof(MessageSizeFilter<>), context);

    /// <summary>The credential pipeline: every message's credential is checked before anything else reads it (<see cref="AuthenticationFilter{T}"/>).</summary>
    public static void UseCallerAuthentication(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context) =>
        endpoint.UseConsumeFilter(typeof(AuthenticationFilter<>), context);

    /// <summary>
    /// After the caller is known, before anything is claimed or reserved: a user holding its share of this worker's messages
    /// has the next one parked until its turn (<see cref="FairShareFilter{T}"/>).
    /// </summary>
    public static void UseFairShare(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context) =>
        endpoint.UseConsumeFilter(typeof(FairShareFilter<>), context);

    /// <summary>After the caller is known: plan, quota, rate and one answer per request id (<see cref="RequestAdmissionFilter{T}"/>).</summary>
    public static void UseRequestAdmission(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context) =>
        endpoint.UseConsumeFilter(typeof(RequestAdmissionFilter<>), context);
}
