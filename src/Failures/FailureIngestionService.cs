using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Vocab.Messaging;

namespace Vocab.Failures;

/// <summary>
/// Consumes the worker's dead-letter queues into the failure store for as long as the process runs, reconnecting after
/// a broker outage and waiting for a queue the worker has not declared yet. Each delivery is acknowledged after its
/// document is written; a failed write leaves it unacknowledged until the channel is reopened, so it comes back.
/// </summary>
public sealed partial class FailureIngestionService(FailureIngestor ingestor, BrokerConnection broker, FailureStore store,
    IOptions<FailureOptions> options, TimeProvider time, ILogger<FailureIngestionService> logger) : BackgroundService
{
    private const int NotFound = 404;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MissingQueueDelay = TimeSpan.FromSeconds(5);

    // Each queue on its own: the refusals queue may not exist yet while failures already arrive.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(FailureQueues.All.Select(kind => RunAsync(kind, stoppingToken)).Append(MaintainAsync(stoppingToken)));

    // Retention and counters left lagging by a process that stopped midway (FailureStore.MaintainAsync).
    private async Task MaintainAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (expired, caught) = await store.MaintainAsync(stoppingToken);
                if (expired + caught > 0)
                    LogMaintained(logger, expired, caught);
                await Task.Delay(FailureStore.MaintenanceInterval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogMaintenanceFailed(logger, e.Message);
                try
                {
                    await Task.Delay(FailureStore.MaintenanceInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RunAsync(string kind, CancellationToken stoppingToken)
    {
        var delay = RetryDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var connection = await broker.GetAsync("vocab-ops-ingestor", stoppingToken);
                await using var channel = await ConsumeAsync(connection, kind, stoppingToken);
                // Until the channel closes (the queue deleted, a write that failed, the broker gone): then start again.
                while (!stoppingToken.IsCancellationRequested && connection.IsOpen && channel.IsOpen)
                    await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
            {
                // The worker declares a dead-letter queue with its first copy: nothing to ingest until then.
                LogQueueMissing(logger, ingestor.QueueName(kind));
                delay = MissingQueueDelay;
            }
            catch (Exception e)
            {
                LogIngestionPaused(logger, ingestor.QueueName(kind), e.Message);
            }
            try
            {
                await Task.Delay(delay, stoppingToken);
                delay = RetryDelay;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<IChannel> ConsumeAsync(IConnection connection, string kind, CancellationToken stoppingToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
        try
        {
            await channel.BasicQosAsync(0, options.Value.IngestPrefetch, false, stoppingToken);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                try
                {
                    await ingestor.IngestAsync(delivery.BasicProperties, delivery.Body, kind, stoppingToken);
                    await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Not acknowledged: closing the channel returns it (and the rest in flight) to the queue.
                    LogWriteFailed(logger, ingestor.QueueName(kind), e.Message);
                    await channel.CloseAsync();
                }
            };
            await channel.BasicConsumeAsync(ingestor.QueueName(kind), autoAck: false, consumer, stoppingToken);
            return channel;
        }
        catch
        {
            await channel.DisposeAsync();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Failure store housekeeping: {Expired} past retention purged, {Caught} failures' counters brought up to date")]
    private static partial void LogMaintained(ILogger logger, long expired, long caught);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failure store housekeeping failed, retrying later: {Why}")]
    private static partial void LogMaintenanceFailed(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failure ingestion from {Queue} paused, retrying: {Why}")]
    private static partial void LogIngestionPaused(ILogger logger, string queue, string why);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Queue} does not exist yet; looking again shortly")]
    private static partial void LogQueueMissing(ILogger logger, string queue);

    [LoggerMessage(Level = LogLevel.Error, Message = "A failure from {Queue} could not be stored; it stays on the queue: {Why}")]
    private static partial void LogWriteFailed(ILogger logger, string queue, string why);
}
