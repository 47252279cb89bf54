using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Vocab.Messaging;
using Vocab.Messaging.DeadLetters;

namespace Vocab.Admin.DeadLetters;

/// <summary>
/// Reads and acts on one of the worker's dead-letter queues (<c>_error</c>, or the refusals on <c>_refused</c>), verifying
/// each message's signature as it is read. Messages are fetched unacknowledged and only acknowledged once their fate is
/// done (replayed and confirmed, or purged); everything else goes back, and a crash leaves all of them on the queue.
/// </summary>
public sealed class DeadLetterQueue(Uri rabbitMq, string queueName, DeadLetterSigner signer, SslOption? ssl = null,
    IReadOnlyList<string>? clusterHosts = null, string suffix = DeadLetterQueue.Error) : IAsyncDisposable
{
    /// <summary>The suffix of the queue of failures that can be replayed.</summary>
    public const string Error = QueueNames.ErrorSuffix;

    /// <summary>The suffix of the bounded queue of credential and permission refusals (metadata only).</summary>
    public const string Refused = QueueNames.RefusedSuffix;

    private const int NotFound = 404;
    private IConnection? _connection;

    /// <summary>The queue the worker consumes; replayed messages go there (through its exchange of the same name).</summary>
    public string QueueName => queueName;

    /// <summary>The dead-letter queue this reads.</summary>
    public string ErrorQueueName => queueName + suffix;

    /// <summary>The same broker's refusals queue.</summary>
    public DeadLetterQueue Refusals() => new(rabbitMq, queueName, signer, ssl, clusterHosts, Refused);

    /// <summary>
    /// Visits up to <paramref name="limit"/> messages; <paramref name="decide"/> says which to remove, after
    /// <paramref name="act"/> (if any) has handled them. The rest are returned to the queue in order.
    /// </summary>
    public async Task<int> VisitAsync(int limit, Func<DeadLetterMessage, bool> decide,
        Func<IChannel, BasicGetResult, DeadLetterMessage, Task>? act, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        var removed = 0;
        var held = new List<ulong>();
        if (!await ExistsAsync(cancellationToken))
            return 0;
        try
        {
            while (held.Count + removed < limit)
            {
                var result = await channel.BasicGetAsync(ErrorQueueName, autoAck: false, cancellationToken);
                if (result is null)
                    break;
                var message = DeadLetterMessage.From(result, signer);
                if (!decide(message))
                {
                    held.Add(result.DeliveryTag);
                    continue;
                }
                if (act is not null)
                    await act(channel, result, message);
                await channel.BasicAckAsync(result.DeliveryTag, multiple: false, cancellationToken);
                removed++;
            }
        }
        finally
        {
            foreach (var tag in held)
                await channel.BasicNackAsync(tag, multiple: false, requeue: true, CancellationToken.None);
        }
        return removed;
    }

    /// <summary>Reads up to <paramref name="limit"/> messages and puts them all back.</summary>
    public async Task<IReadOnlyList<DeadLetterMessage>> BrowseAsync(int limit, CancellationToken cancellationToken)
    {
        var seen = new List<DeadLetterMessage>();
        await VisitAsync(limit, message =>
        {
            seen.Add(message);
            return false;
        }, null, cancellationToken);
        return seen;
    }

    /// <summary>How many messages wait on the error queue.</summary>
    public async Task<uint> CountAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            return (await channel.QueueDeclarePassiveAsync(ErrorQueueName, cancellationToken)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
        {
            return 0;
        }
    }

    // The worker declares the error queue on its first failure; before that there is simply nothing to see.
    private async Task<bool> ExistsAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await channel.QueueDeclarePassiveAsync(ErrorQueueName, cancellationToken);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
        {
            return false;
        }
    }

    /// <summary>Removes every message from the error queue.</summary>
    public async Task<uint> PurgeAllAsync(CancellationToken cancellationToken)
    {
        if (!await ExistsAsync(cancellationToken))
            return 0;
        var connection = await ConnectAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        return await channel.QueuePurgeAsync(ErrorQueueName, cancellationToken);
    }

    private async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is not null)
            return _connection;
        var factory = new ConnectionFactory { Uri = rabbitMq, ClientProvidedName = "vocabctl", Ssl = ssl ?? new SslOption() };
        // With a cluster's nodes listed, any one that answers will do.
        _connection = clusterHosts is { Count: > 0 }
            ? await factory.CreateConnectionAsync(clusterHosts.Select(h => AmqpTcpEndpoint.Parse(h)).Select(e =>
                new AmqpTcpEndpoint(e.HostName, e.Port > 0 ? e.Port : rabbitMq.Port, factory.Ssl)).ToList(), cancellationToken)
            : await factory.CreateConnectionAsync(cancellationToken);
        return _connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
            await _connection.CloseAsync();
    }
}
