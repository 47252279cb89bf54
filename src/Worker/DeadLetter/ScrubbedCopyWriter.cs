using System.Collections.Concurrent;
using System.Globalization;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging.DeadLetters;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Writes the copy of a received message that a dead-letter queue keeps (<c>_error</c>, <c>_skipped</c>, <c>_refused</c>)
/// on the channel it arrived on, and waits for the broker's confirmation so the original is acknowledged only once the
/// copy is safe. Every copy gets a dead-letter id of its own and a signature over the worker's metadata, its body and
/// what a replay would send on, so ops tools can tell it from a copy anyone else published.
/// </summary>
public sealed class ScrubbedCopyWriter(DeadLetterSigner signer, TimeProvider time, DeadLetterMetrics metrics)
{
    // A refusal keeps short metadata only: a bound on the queue's length is then a bound on its size.
    private const int MaxRefusalHeaderLength = 1024;
    private static readonly string[] DroppedFromRefusals = ["MT-Fault-StackTrace"];

    /// <summary>Scrubs the message and writes it, body included, to <paramref name="queue"/> with the worker's own <paramref name="metadata"/>.</summary>
    public async Task WriteAsync(ReceiveContext context, FilingQueue queue, IEnumerable<KeyValuePair<string, object?>> metadata)
    {
        var (channel, delivery) = Channel(context);
        var copy = CredentialScrubber.Scrub(delivery?.Properties, context.Body.GetBytes());
        var properties = copy.Properties;
        // A dead letter waits for ops: it must neither expire nor vanish with a broker restart.
        properties.Expiration = null;
        properties.Persistent = true;
        var headers = properties.Headers!;
        foreach (var (name, value) in metadata)
        {
            if (AmqpValue(value) is { } amqp)
                headers[name] = ExceptionHeaderText.Checked(name, amqp, copy.Detector);
        }
        if (copy.BodyRemovedBecause is { } why)
            headers[VocabHeaders.BodyRemoved] = why;
        await SignAndPublishAsync(context, channel, queue, properties, copy.Body);
    }

    /// <summary>
    /// Writes a refusal to <paramref name="queue"/>: the worker's metadata and the message's ids, never its body or the
    /// publisher's headers. It cannot be replayed (the credential was refused), so it only needs to tell ops who was refused why.
    /// </summary>
    public async Task WriteRefusalAsync(ReceiveContext context, FilingQueue queue, IEnumerable<KeyValuePair<string, object?>> metadata)
    {
        var (channel, delivery) = Channel(context);
        // Scrubbed for its properties only: the body, however large, is never read.
        var copy = CredentialScrubber.Scrub(delivery?.Properties, ReadOnlySpan<byte>.Empty);
        var scrubbed = copy.Properties;
        var headers = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in metadata)
        {
            if (!DroppedFromRefusals.Contains(name, StringComparer.OrdinalIgnoreCase) && AmqpValue(value) is { } amqp)
                headers[name] = ExceptionHeaderText.Checked(name, amqp is string text && text.Length > MaxRefusalHeaderLength ? text[..MaxRefusalHeaderLength] : amqp, copy.Detector);
        }
        headers[VocabHeaders.BodyRemoved] = CredentialScrubber.BodyRemoval.Refused;
        var properties = new BasicProperties
        {
            MessageId = scrubbed.MessageId,
            CorrelationId = scrubbed.CorrelationId,
            Timestamp = scrubbed.Timestamp,
            Persistent = true,
            Headers = headers,
        };
        await SignAndPublishAsync(context, channel, queue, properties, []);
    }

    private async Task SignAndPublishAsync(ReceiveContext context, ChannelContext channel, FilingQueue queue, BasicProperties properties, byte[] body)
    {
        var headers = properties.Headers!;
        headers[VocabHeaders.DeadLetterId] = Guid.CreateVersion7(time.GetUtcNow()).ToString("D");
        headers[VocabHeaders.DeadLetteredAt] = time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        signer.Sign(properties, body);

        await DeclareOnceAsync(channel, queue, context.CancellationToken);
        await channel.BasicPublishAsync(queue.Name, "", true, properties, body, true, context.CancellationToken);
        metrics.Filed(queue.Name, headers.TryGetValue(VocabHeaders.Reason, out var reason) ? reason as string : null);
    }

    private static (ChannelContext Channel, RabbitMqBasicConsumeContext? Delivery) Channel(ReceiveContext context)
    {
        if (!context.TryGetPayload(out ChannelContext? channel))
            throw new InvalidOperationException("The received message has no RabbitMQ channel to write its dead-letter copy on.");
        context.TryGetPayload(out RabbitMqBasicConsumeContext? delivery);
        return (channel, delivery);
    }

    // AMQP tables take strings, numbers and booleans; anything else is written as text.
    private static object? AmqpValue(object? value) => value switch
    {
        null => null,
        string or bool or int or long or double or decimal or byte[] => value,
        DateTime dateTime => dateTime.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset dateTime => dateTime.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
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
