using MassTransit;
using Vocab.Worker.DeadLetter;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Extensions;

/// <summary>Bus-wide parts of the worker's bus, composed in <see cref="MessagingExtensions.AddVocabMessaging"/>.</summary>
public static class BusConfiguratorExtensions
{
    /// <summary>Removes credential and inbound <c>Vocab-*</c> headers from everything the bus sends or publishes (<see cref="CredentialHeaderRemovalObserver"/>).</summary>
    public static void UseCredentialHeaderRemoval(this IBusFactoryConfigurator bus, IRegistrationContext context)
    {
        var observer = context.GetRequiredService<CredentialHeaderRemovalObserver>();
        bus.ConnectSendObserver(observer);
        bus.ConnectPublishObserver(observer);
    }

    /// <summary>
    /// The queue the broker dead-letters the input queue's expired and rejected messages to. No consumer: every message here
    /// ends in one of its two pipes, which file it scrubbed and signed on <c>_error</c> (<see cref="BrokerDeadLetterFilingFilter{TContext}"/>).
    /// </summary>
    public static void UseQuarantineEndpoint(this IRabbitMqBusFactoryConfigurator rabbit, IRegistrationContext context, MessagingOptions options) =>
        rabbit.ReceiveEndpoint(options.QuarantineQueueName, quarantine =>
        {
            quarantine.ConfigureConsumeTopology = false;
            quarantine.PrefetchCount = 16;
            if (options.IsQuorum)
                quarantine.SetQuorumQueue();
            quarantine.ConfigureDeadLetter(pipe => pipe.UseFilter(context.GetRequiredService<BrokerDeadLetterFilingFilter<ReceiveContext>>()));
            quarantine.ConfigureError(pipe => pipe.UseFilter(context.GetRequiredService<BrokerDeadLetterFilingFilter<ExceptionReceiveContext>>()));
        });
}
