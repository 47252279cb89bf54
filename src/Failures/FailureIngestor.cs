using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Vocab.Failures;

/// <summary>
/// Moves dead-lettered copies from the worker's <c>_error</c> and <c>_refused</c> queues into the failure store. A copy
/// is acknowledged only after its document is written; killed in between, the broker redelivers it and the store finds
/// its id, so nothing is lost and nothing is stored twice.
/// </summary>
public sealed partial class FailureIngestor(FailureReader reader, FailureStore store, IOptions<FailureOptions> options, TimeProvider time,
    ILogger<FailureIngestor> logger)
{
    private const int NotFound = 404;

    /// <summary>The broker queue of a kind (<see cref="FailureQueues"/>).</summary>
    public string QueueName(string kind) => FailureQueues.QueueName(options.Value.QueueName, kind);

    /// <summary>Writes one delivery's document (or finds it already written); true when it was new.</summary>
    public async Task<bool> IngestAsync(IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, string kind, CancellationToken cancellationToken)
    {
        var failure = reader.Read(properties, body, kind, time.GetUtcNow().UtcDateTime, options.Value.FailureRetention);
        bool added;
        try
        {
            added = await store.IngestAsync(failure, cancellationToken);
        }
        catch (Exception e) when (UnstorableFailure.Is(e))
        {
            LogUnstorable(logger, failure.Id, kind, e.GetType().Name);
            failure = UnstorableFailure.MetadataOf(failure, e);
            added = await store.IngestAsync(failure, cancellationToken);
        }
        if (added)
            LogIngested(logger, failure.Id, kind, failure.Reason, failure.Verified, failure.UserId, failure.KeyId);
        return added;
    }

    /// <summary>Ingests everything waiting on both queues now (vocabctl dlq ingest); returns how many documents were new.</summary>
    public async Task<int> DrainAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var kind in FailureQueues.All)
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                while (await channel.BasicGetAsync(QueueName(kind), autoAck: false, cancellationToken) is { } delivery)
                {
                    if (await IngestAsync(delivery.BasicProperties, delivery.Body, kind, cancellationToken))
                        added++;
                    await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, cancellationToken);
                }
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
            {
                // The worker declares a dead-letter queue on its first copy; before that there is nothing to ingest.
            }
        }
        return added;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failure {FailureId} from {Queue} cannot be stored whole ({Error}): storing its metadata only")]
    private static partial void LogUnstorable(ILogger logger, string failureId, string queue, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Failure {FailureId} ingested from {Queue}: {Reason}, verified {Verified}, user {UserId}, key {KeyId}")]
    private static partial void LogIngested(ILogger logger, string failureId, string queue, string reason, bool verified, string? userId, string? keyId);
}
