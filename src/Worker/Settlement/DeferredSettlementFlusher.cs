using Microsoft.Extensions.Options;
using Vocab.Plans;

namespace Vocab.Worker.Settlement;

/// <summary>
/// Sends the settlements no admission carried within <c>Settlement:SettleWithin</c> (a user who sent nothing more), and
/// every one still owed when the worker stops, after the bus stopped consuming (it is registered before the bus, and
/// hosted services stop in reverse order).
/// </summary>
public sealed partial class DeferredSettlementFlusher(QuotaLedger ledger, IOptions<SettlementOptions> options, TimeProvider time,
    ILogger<DeferredSettlementFlusher> logger) : BackgroundService
{
    private long _expiredLogged;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var within = options.Value.SettleWithin;
        using var timer = new PeriodicTimer(within / 4, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await FlushAsync(time.GetUtcNow() - within);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(DateTimeOffset.MaxValue);
        if (ledger.DeferredCount > 0)
            LogOwedAtStop(logger, ledger.DeferredCount);
    }

    private async Task FlushAsync(DateTimeOffset deferredBy)
    {
        try
        {
            await ledger.SettleDeferredAsync(deferredBy);
        }
        catch (Exception e)
        {
            // Owed again: the next tick sends them, or the orphan sweep once they are too old for this worker to send.
            LogFlushFailed(logger, e, ledger.DeferredCount);
        }
        var expired = ledger.ExpiredDeferredCount;
        if (expired > _expiredLogged)
        {
            LogExpired(logger, expired - _expiredLogged);
            _expiredLogged = expired;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send the settlements this worker owes ({Owed} owed); trying again")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception, int owed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} settlements were owed too long to send from here: the orphan sweep settles them from their stored answers")]
    private static partial void LogExpired(ILogger logger, long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped owing {Owed} settlements (MongoDB unreachable): the orphan sweep settles them from their stored answers")]
    private static partial void LogOwedAtStop(ILogger logger, int owed);
}
