using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;
using Vocab.Messaging;

namespace Vocab.Worker.Filters;

/// <summary>
/// Sends a message over its caller's rate back to the input queue after a wait, through delay queues with a queue-level
/// time-to-live that dead-letter into it. One queue per step, since RabbitMQ expires messages only at a queue's head:
/// mixed waits in one queue would hold each other up. No broker plugin is needed.
/// </summary>
public static class RateDelay
{
    /// <summary>The accumulated wait of a message, so a message is refused once it has waited RateLimits:MaxDelay.</summary>
    public const string DelayedHeader = "X-Vocab-Rate-Delayed-Ms";

    /// <summary>When the worker parked this copy (Unix milliseconds), so a copy the broker failed to expire is found (<see cref="Messaging.DelayQueueSweeper"/>).</summary>
    public const string ParkedAtHeader = "X-Vocab-Parked-At-Ms";

    /// <summary>The waits of a rate delay, shortest first.</summary>
    public static IReadOnlyList<TimeSpan> Steps { get; } = new[] { 1, 2, 5, 15, 30, 60, 300 }.Select(s => TimeSpan.FromSeconds(s)).ToArray();

    /// <summary>
    /// The waits of a fair-share park, shortest first: finer than the rate delay's, since a turn comes in seconds. A message
    /// is parked for the largest step that does not pass its due time (it is never late), and parked again if it comes
    /// back early; the longer steps keep a very long backlog from cycling through the worker every minute.
    /// </summary>
    public static IReadOnlyList<TimeSpan> FairShareSteps { get; } = new[] { 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300 }.Select(s => TimeSpan.FromSeconds(s)).ToArray();

    /// <summary>How long this message has already waited.</summary>
    public static TimeSpan AlreadyDelayed(ReceiveContext context) =>
        context.TransportHeaders.TryGetHeader(DelayedHeader, out var value) && long.TryParse(HeaderText.Of(value), out var ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.Zero;

    /// <summary>The step a wait of <paramref name="retryAfter"/> takes.</summary>
    public static TimeSpan StepFor(TimeSpan retryAfter) => Steps.FirstOrDefault(s => s >= retryAfter, Steps[^1]);

    /// <summary>
    /// Publishes the message, as received, to the delay queue of <paramref name="step"/> and waits for the broker's
    /// confirmation. <paramref name="stamp"/> sets the worker's own headers on the copy; by default it adds the step to the
    /// wait counted against <c>RateLimits:MaxDelay</c>.
    /// </summary>
    public static async Task SendAsync(ReceiveContext context, string inputQueue, IReadOnlyDictionary<string, object> queueArguments, TimeSpan step,
        TimeProvider time, Action<IDictionary<string, object?>>? stamp = null)
    {
        if (!context.TryGetPayload(out ChannelContext? channel) || !context.TryGetPayload(out RabbitMqBasicConsumeContext? delivery))
            throw new InvalidOperationException("The received message has no RabbitMQ channel to delay it on.");
        // Sent on whole, with the worker's headers added: headers near a frame's size would make the copy too large for
        // one, and the broker would close the worker's connection at every redelivery. Refused instead (never retried).
        if (HeaderBudget.SizeOf(delivery.Properties.Headers) > HeaderBudget.MessageBytes)
            throw new InvalidRequestException($"Invalid request: its headers take more than {HeaderBudget.MessageBytes} bytes.");
        var queue = QueueNames.Delay(inputQueue, step);
        var declared = DeclaredQueues.GetOrCreateValue(channel.ConnectionContext.Connection);
        if (!declared.TryGetValue(queue, out var declaredAt) || Environment.TickCount64 - declaredAt > DeclaredFor)
            await DeclareAsync(channel, queue, inputQueue, queueArguments, step, declared, context.CancellationToken);

        var properties = new BasicProperties(delivery.Properties)
        {
            Headers = new Dictionary<string, object?>(delivery.Properties.Headers ?? new Dictionary<string, object?>()),
            Persistent = true,
        };
        if (stamp is null)
            properties.Headers[DelayedHeader] = (long)(AlreadyDelayed(context) + step).TotalMilliseconds;
        else
            stamp(properties.Headers);
        properties.Headers[ParkedAtHeader] = time.GetUtcNow().ToUnixTimeMilliseconds();
        var body = context.Body.GetBytes();
        try
        {
            await channel.BasicPublishAsync("", queue, true, properties, body, true, context.CancellationToken);
        }
        catch (MessageReturnedException)
        {
            // Declared on this connection, then deleted (by ops, or a policy): declared again and sent once more. Returned
            // means no queue took it, so nothing is sent twice. (A return is seen because the bus confirms publishes,
            // MassTransit's default; the worker never turns that off.)
            await DeclareAsync(channel, queue, inputQueue, queueArguments, step, declared, context.CancellationToken);
            await channel.BasicPublishAsync("", queue, true, properties, body, true, context.CancellationToken);
        }
    }

    // The delay queues declared on each connection, and when (Environment.TickCount64): declaring is a broker round trip,
    // and a burst parks hundreds of messages a second. A new connection (a reconnect, another node) declares again, and
    // so does a declaration older than DeclaredFor: a declare counts as use of the queue for an `expires` policy, which a
    // publish does not, and it fails loudly if the queue was replaced by one with other arguments.
    private static readonly ConditionalWeakTable<IConnection, ConcurrentDictionary<string, long>> DeclaredQueues = new();

    private const long DeclaredFor = 60_000;

    private static async Task DeclareAsync(ChannelContext channel, string queue, string inputQueue, IReadOnlyDictionary<string, object> queueArguments,
        TimeSpan step, ConcurrentDictionary<string, long> declared, CancellationToken cancellationToken)
    {
        await channel.QueueDeclare(queue, true, false, false, QueueArguments(inputQueue, queueArguments, step), cancellationToken);
        declared[queue] = Environment.TickCount64;
    }

    /// <summary>The arguments of the delay queue of <paramref name="step"/>: its wait as a time-to-live, and dead-lettering back to the input queue.</summary>
    public static Dictionary<string, object> QueueArguments(string inputQueue, IReadOnlyDictionary<string, object> queueArguments, TimeSpan step) =>
        new(queueArguments)
        {
            ["x-message-ttl"] = (int)step.TotalMilliseconds,
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = inputQueue,
        };
}
