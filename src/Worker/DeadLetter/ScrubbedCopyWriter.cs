using System.Collections.Concurrent;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;
using Vocab.Contracts;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Writes the scrubbed copy of a received message to a dead-letter queue (<c>_error</c>, <c>_skipped</c>) on the
/// channel it arrived on, and waits for the broker's confirmation so the original is acknowledged only once the copy is safe.
/// </summary>
public static class ScrubbedCopyWriter
{
    /// <summary>Scrubs the message and writes it to <paramref name="queue"/> with the worker's own <paramref name="metadata"/>.</summary>
    public static async Task WriteAsync(ReceiveContext context, FilingQueue queue, IEnumerable<KeyValuePair<string, object?>> metadata)
    {
        if (!context.TryGetPayload(out ChannelContext? channel))
            throw new InvalidOperationException("The received message has no RabbitMQ channel to write its dead-letter copy on.");
        context.TryGetPayload(out RabbitMqBasicConsumeContext? delivery);

        var copy = CredentialScrubber.Scrub(delivery?.Properties, context.Body.GetBytes());
        var properties = copy.Properties;
        // A dead letter waits for ops: it must neither expire nor vanish with a broker restart.
        properties.Expiration = null;
        properties.Persistent = true;
        var headers = properties.Headers!;
        foreach (var (name, value) in metadata)
        {
            if (AmqpValue(value) is { } amqp)
                headers[name] = amqp;
        }
        if (copy.BodyRemovedBecause is { } why)
            headers[VocabHeaders.BodyRemoved] = why;

        await DeclareOnceAsync(channel, queue, context.CancellationToken);
        await channel.BasicPublishAsync(queue.Name, "", true, properties, copy.Body, true, context.CancellationToken);
    }

    // AMQP tables take strings, numbers and booleans; anything else is written as text.
    private static object? AmqpValue(object? value) => value switch
    {
        null => null,
        string or bool or int or long or double or decimal or byte[] => value,
        DateTime time => time.ToUniversalTime().ToString("O"),
        DateTimeOffset time => time.UtcDateTime.ToString("O"),
        _ => value.ToString(),
    };

    // The same topology MassTransit gives its error and skipped queues: a fanout exchange bound to a durable queue of that name.
    private static async Task DeclareOnceAsync(ChannelContext channel, FilingQueue queue, CancellationToken cancellationToken)
    {
        var declared = channel.GetOrAddPayload(() => new DeclaredQueues());
        if (declared.Names.ContainsKey(queue.Name))
            return;
        var none = new Dictionary<string, object>();
        await channel.ExchangeDeclare(queue.Name, ExchangeType.Fanout, true, false, none, cancellationToken);
        await channel.QueueDeclare(queue.Name, true, false, false, new Dictionary<string, object>(queue.Arguments), cancellationToken);
        await channel.QueueBind(queue.Name, queue.Name, "", none, cancellationToken);
        declared.Names[queue.Name] = true;
    }

    private sealed class DeclaredQueues
    {
        public ConcurrentDictionary<string, bool> Names { get; } = new(StringComparer.Ordinal);
    }
}
