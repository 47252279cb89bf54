using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Vocab.Authentication.ApiKeys;

/// <summary>
/// Keeps keys' <c>lastUsedAt</c> current without a database write per message: uses are noted in memory and
/// written once per key per <see cref="AuthenticationOptions.LastUsedFlushInterval"/>, and on shutdown.
/// </summary>
public sealed partial class ApiKeyUsageRecorder(
    ApiKeyStore store, IOptions<AuthenticationOptions> options, TimeProvider time, ILogger<ApiKeyUsageRecorder> logger)
    : BackgroundService
{
    private ConcurrentDictionary<string, DateTime> _pending = new(StringComparer.Ordinal);

    /// <summary>Notes that a key was used now.</summary>
    public void Record(string keyId) => _pending[keyId] = time.GetUtcNow().UtcDateTime;

    /// <summary>Writes the noted uses now.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<string, DateTime>(StringComparer.Ordinal));
        try
        {
            await store.RecordLastUsedAsync(batch, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Put the uses back so the next flush retries them; a newer use wins.
            foreach (var (keyId, usedAt) in batch)
                _pending.AddOrUpdate(keyId, usedAt, (_, current) => current > usedAt ? current : usedAt);
            LogFlushFailed(logger, e, batch.Count);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LastUsedFlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutdown ran out of time: last-use times are a convenience, never a reason for the process to fail to stop.
            LogFlushAbandoned(logger, _pending.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown ran out of time before recording the last use of API keys ({KeyCount} pending)")]
    private static partial void LogFlushAbandoned(ILogger logger, int keyCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record last use of {KeyCount} API keys; will retry")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception, int keyCount);
}
