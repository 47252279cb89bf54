using Microsoft.Extensions.Options;
using Vocab.Plans;
using Vocab.Vocabularies;

namespace Vocab.Worker.Settlement;

/// <summary>
/// Settles what a dead worker owed: every <c>Settlement:OrphanSweepEvery</c>, the reservations of this month and the last
/// still open whose answer was stored more than <see cref="QuotaLedger.OrphanAge"/> ago are ended with the charge that
/// answer carries, each by a conditional update that applies once however many workers sweep. A reservation with no
/// stored answer is a request in flight (or one whose redelivery will reuse it), and is left alone.
/// </summary>
public sealed partial class OrphanedSettlementSweeper(QuotaLedger ledger, VocabularyStore store, IOptions<SettlementOptions> options, TimeProvider time,
    ILogger<OrphanedSettlementSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.Value.OrphanSweepEvery, time, stoppingToken);
                try
                {
                    await SweepAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogSweepFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One sweep; returns how many reservations it settled.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var storedBefore = now - QuotaLedger.OrphanAge;
        var months = new[] { UsageMonth.Of(now), UsageMonth.Of(UsageMonth.ResetsAt(now).AddMonths(-1).AddTicks(-1)) };
        var open = await ledger.FindOpenSinceAsync(months, storedBefore, cancellationToken);
        if (open.Count == 0)
            return 0;
        var charges = await store.FindChargesAsync(open.Select(r => r.RequestId.ToString("D")).ToList(), storedBefore.UtcDateTime, cancellationToken);
        var settled = 0;
        foreach (var reservation in open)
        {
            // Only the charge this very reservation owes: the same usage document and the same reserved tokens.
            if (!charges.TryGetValue(reservation.RequestId.ToString("D"), out var charge)
                || charge.UsageId != reservation.UsageId || charge.ReservedTokens != reservation.Tokens)
                continue;
            if (await ledger.SettleOrphanAsync(reservation, charge.ChargedTokens, cancellationToken) is { } charged)
            {
                settled++;
                LogSettled(logger, reservation.RequestId, reservation.UsageId, charged);
            }
        }
        return settled;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settled request {RequestId} in {UsageId} ({Tokens} tokens charged now) for a worker that died owing it")]
    private static partial void LogSettled(ILogger logger, Guid requestId, string usageId, long tokens);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The orphaned settlement sweep failed; the next one tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
