using MassTransit;
using Vocab.Contracts;
using Vocab.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Files what the broker dead-lettered itself (expired in the queue, rejected, over a limit) as a signed refusal with a
/// reason ops can read on the bounded <c>&lt;queue&gt;_refused</c>: metadata only. The broker routes such messages to a
/// quarantine queue that only this worker reads, because the broker cannot remove credentials. No caller was proven, so
/// it can never be replayed, and keeping its body would let any publisher (no credential needed) store what it likes,
/// unbounded, on the error queue and in the failure store.
/// </summary>
public sealed partial class BrokerDeadLetterFilingFilter<TContext>(DeadLetterQueues queues, ScrubbedCopyWriter copies, ILoggerFactory loggers)
    : IFilter<TContext>
    where TContext : class, ReceiveContext
{
    // One category for both pipes it serves (dead-letter and error), as before.
    private readonly ILogger _logger = loggers.CreateLogger(typeof(BrokerDeadLetterFilingFilter<>).FullName!);

    /// <inheritdoc />
    public async Task Send(TContext context, IPipe<TContext> next)
    {
        var (brokerReason, fromQueue) = ReadDeath(context.TransportHeaders);
        var reason = brokerReason switch
        {
            "expired" => RejectionReasons.ExpiredInQueue,
            "rejected" => RejectionReasons.RejectedByBroker,
            "maxlen" => RejectionReasons.QueueOverflow,
            "delivery_limit" => RejectionReasons.DeliveryLimitExceeded,
            _ => RejectionReasons.DeadLetteredByBroker,
        };
        LogFiled(_logger, context.GetMessageId(), reason, fromQueue);
        await copies.WriteRefusalAsync(context, queues.Refused,
        [
            new(VocabHeaders.Reason, reason),
            new(VocabHeaders.DeadLetteredFrom, fromQueue),
            new(MessageHeaders.Reason, "broker-dead-letter"),
        ]);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-broker-dead-letter-filing");

    private static (string? Reason, string? Queue) ReadDeath(Headers headers)
    {
        // RabbitMQ sets x-first-death-* on the first dead-lettering; x-death lists every one, newest first.
        return (HeaderText.Of(headers, "x-first-death-reason"), HeaderText.Of(headers, "x-first-death-queue"));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker dead-lettered message {MessageId} ({Reason}) from queue {Queue}; filed on the refused queue")]
    private static partial void LogFiled(ILogger logger, Guid? messageId, string reason, string? queue);
}
