using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Vocab.Messaging;
using Vocab.Worker.Filters;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Moves back to the input queue what a delay queue holds past its wait. The broker expires a parked copy on its own, but
/// a quorum queue on RabbitMQ 3.10 whose leader moved to another node can leave copies unexpired until something else
/// touches the queue (seen: 129 copies stuck for minutes after a node stopped). Every <c>Worker:DelaySweepInterval</c> it
/// looks at the head of each delay queue this worker knows: a get makes the broker expire what is due, and a copy still
/// there a whole interval after its wait is published to the input queue (confirmed) before it is taken off.
/// </summary>
public sealed partial class DelayQueueSweeper(BrokerConnection broker, IOptions<MessagingOptions> messaging, TimeProvider time,
    ILogger<DelayQueueSweeper> logger) : BackgroundService
{
    private const ushort NotFound = 404;
    private const int MovesPerQueuePerSweep = 1_000;

    // Delay queues to look at. At start: every step a parker uses, so what an earlier run parked is found; one that does
    // not exist is dropped (each look at it would be a channel error), and comes back when this worker parks into it.
    private readonly ConcurrentDictionary<string, TimeSpan> _queues = new(
        RateDelay.Steps.Concat(RateDelay.FairShareSteps).Distinct().Select(step => KeyValuePair.Create(QueueNames.Delay(messaging.Value.QueueName, step), step)));

    /// <summary>Looks at the delay queue of <paramref name="step"/> from now on: this worker parked a copy there.</summary>
    public void Watch(TimeSpan step) => _queues.TryAdd(QueueNames.Delay(messaging.Value.QueueName, step), step);

    /// <summary>Sweeps every <c>Worker:DelaySweepInterval</c> until the host stops.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(messaging.Value.DelaySweepInterval, time, stoppingToken);
                try
                {
                    await SweepAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A broker away (a node stopping): the next sweep connects again.
                    LogSweepFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One sweep of every known delay queue; returns how many copies it moved to the input queue.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var connection = await broker.GetAsync("vocab-worker-delay-sweep", cancellationToken);
        var moved = 0;
        foreach (var (queue, step) in _queues)
        {
            await using var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            try
            {
                if ((await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount > 0)
                    moved += await SweepQueueAsync(channel, queue, step, cancellationToken);
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
            {
                _queues.TryRemove(queue, out _);
            }
        }
        return moved;
    }

    private async Task<int> SweepQueueAsync(IChannel channel, string queue, TimeSpan step, CancellationToken cancellationToken)
    {
        var moved = 0;
        while (moved < MovesPerQueuePerSweep && await channel.BasicGetAsync(queue, autoAck: false, cancellationToken) is { } head)
        {
            if (!IsOverdue(head, step))
            {
                // Not yet due, or due just now: the broker expires it. Put back at the head with its expiry unchanged.
                await channel.BasicNackAsync(head.DeliveryTag, multiple: false, requeue: true, cancellationToken);
                break;
            }
            var properties = new BasicProperties(head.BasicProperties) { Persistent = true };
            // Confirmed before the copy is taken off: a failure in between leaves two copies, and admission answers a
            // requestId once, never none.
            await channel.BasicPublishAsync("", messaging.Value.QueueName, mandatory: true, properties, head.Body, cancellationToken);
            await channel.BasicAckAsync(head.DeliveryTag, multiple: false, cancellationToken);
            moved++;
        }
        if (moved > 0)
            LogMoved(logger, moved, queue);
        return moved;
    }

    // Overdue: a whole sweep interval past its wait (so the broker had its chance), or with no parked time (parked by an
    // older worker), which a sweep takes as due.
    private bool IsOverdue(BasicGetResult head, TimeSpan step)
    {
        if (head.BasicProperties.Headers?.TryGetValue(RateDelay.ParkedAtHeader, out var value) != true
            || !long.TryParse(HeaderText.Of(value), out var parkedAtMs))
            return true;
        var due = DateTimeOffset.FromUnixTimeMilliseconds(parkedAtMs) + step + messaging.Value.DelaySweepInterval;
        return time.GetUtcNow() >= due;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moved {Count} copies the broker held past their wait from {Queue} back to the input queue")]
    private static partial void LogMoved(ILogger logger, int count, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delay queue sweep failed; trying again at the next one")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
