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
/// looks at the head of each delay queue whose head should be gone by now: a get makes the broker expire what is due,
/// and a copy still there a whole interval after its wait is published to the input queue (confirmed) before it is taken off.
/// </summary>
public sealed partial class DelayQueueSweeper(BrokerConnection broker, IOptions<MessagingOptions> messaging, TimeProvider time,
    ILogger<DelayQueueSweeper> logger) : BackgroundService
{
    private const ushort NotFound = 404;
    private const int MovesPerQueuePerSweep = 1_000;
    private const int MissingLookedAtEvery = 6;
    private const int MaxRemembered = 10_000;
    // A parked time past this is not one the worker wrote (and would overflow with the step added): timed as if absent.
    private static readonly long MaxParkedAtMs = DateTimeOffset.MaxValue.AddDays(-1).ToUnixTimeMilliseconds();

    // Every delay queue either parker may use, so what an earlier run or another worker parked is found.
    private readonly IReadOnlyDictionary<string, TimeSpan> _queues = RateDelay.Steps.Concat(RateDelay.FairShareSteps).Distinct()
        .ToDictionary(step => QueueNames.Delay(messaging.Value.QueueName, step), step => step);

    // Queues that did not exist: looked at only every few sweeps (each look is a channel error), or as soon as this worker parks there.
    private readonly ConcurrentDictionary<string, byte> _missing = new();

    // Only the sweep touches these. When each queue's head is due back, so a head not yet due is not taken and put back
    // at every sweep (that would raise its delivery count); and when a copy without a parked time was first seen.
    private readonly Dictionary<string, DateTimeOffset> _headDue = [];
    private readonly Dictionary<string, DateTimeOffset> _firstSeen = [];
    private long _sweeps;

    /// <summary>Looks at the delay queue of <paramref name="step"/> at the next sweep: this worker parked a copy there.</summary>
    public void Watch(TimeSpan step) => _missing.TryRemove(QueueNames.Delay(messaging.Value.QueueName, step), out _);

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
                    // No connection (a broker away): the next sweep connects again.
                    LogSweepFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One sweep of the delay queues; returns how many copies it moved to the input queue.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var sweep = ++_sweeps;
        var connection = await broker.GetAsync("vocab-worker-delay-sweep", cancellationToken);
        var moved = 0;
        foreach (var (queue, step) in _queues)
        {
            if ((_missing.ContainsKey(queue) && sweep % MissingLookedAtEvery != 0)
                || (_headDue.TryGetValue(queue, out var due) && time.GetUtcNow() < due))
                continue;
            try
            {
                moved += await SweepQueueAsync(connection, queue, step, cancellationToken);
                _missing.TryRemove(queue, out _);
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
            {
                _missing.TryAdd(queue, 0);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One queue failing (its leader away, a publish not confirmed in time) does not stop the others.
                LogQueueFailed(logger, queue, e);
            }
        }
        return moved;
    }

    private async Task<int> SweepQueueAsync(IConnection connection, string queue, TimeSpan step, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        _headDue.Remove(queue);
        if ((await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount == 0)
            return 0;
        var interval = messaging.Value.DelaySweepInterval;
        var moved = 0;
        // The get alone makes the broker expire what is due at the head; what it hands over was not expired.
        while (moved < MovesPerQueuePerSweep && await channel.BasicGetAsync(queue, autoAck: false, cancellationToken) is { } head)
        {
            var overdueAt = DueOf(queue, head, step) + interval;
            if (time.GetUtcNow() < overdueAt)
            {
                // Not yet a whole interval past due: back at the head with its expiry unchanged, the broker's to expire.
                await channel.BasicNackAsync(head.DeliveryTag, multiple: false, requeue: true, cancellationToken);
                _headDue[queue] = overdueAt;
                break;
            }
            var properties = new BasicProperties(head.BasicProperties) { Persistent = true };
            // Confirmed before the copy is taken off (a failure in between leaves two copies, and admission answers a
            // requestId once), within an interval: an input queue without a leader must not hold the sweep.
            using (var confirmed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                confirmed.CancelAfter(interval);
                await channel.BasicPublishAsync("", messaging.Value.QueueName, mandatory: true, properties, head.Body, confirmed.Token);
            }
            await channel.BasicAckAsync(head.DeliveryTag, multiple: false, cancellationToken);
            moved++;
        }
        if (moved > 0)
            LogMoved(logger, moved, queue);
        return moved;
    }

    // When the copy is due back: parked time plus its wait. A copy without a parked time (parked by an older worker) is
    // timed from when the sweep first saw it.
    private DateTimeOffset DueOf(string queue, BasicGetResult head, TimeSpan step)
    {
        if (head.BasicProperties.Headers?.TryGetValue(RateDelay.ParkedAtHeader, out var value) == true
            && long.TryParse(HeaderText.Of(value), out var parkedAtMs) && parkedAtMs >= 0 && parkedAtMs <= MaxParkedAtMs)
            return DateTimeOffset.FromUnixTimeMilliseconds(parkedAtMs) + step;
        var key = queue + "/" + head.BasicProperties.MessageId;
        if (!_firstSeen.TryGetValue(key, out var seen))
        {
            if (_firstSeen.Count >= MaxRemembered)
                _firstSeen.Clear();
            _firstSeen[key] = seen = time.GetUtcNow();
        }
        return seen + step;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moved {Count} copies the broker held past their wait from {Queue} back to the input queue")]
    private static partial void LogMoved(ILogger logger, int count, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delay queue sweep of {Queue} failed; trying again at the next sweep")]
    private static partial void LogQueueFailed(ILogger logger, string queue, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delay queue sweep failed; trying again at the next one")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
