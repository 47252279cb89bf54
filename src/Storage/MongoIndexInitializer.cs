using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Vocab.Storage;

/// <summary>
/// Creates every <see cref="IMongoIndexSetup"/>'s indexes at start-up, so an empty database is usable. Runs in the
/// background and retries with backoff, so a process whose MongoDB is briefly down still starts and reports not-ready.
/// </summary>
public sealed partial class MongoIndexInitializer(VocabDatabase database, IEnumerable<IMongoIndexSetup> setups, ILogger<MongoIndexInitializer> logger)
    : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Creates the indexes once; throws when MongoDB refuses.</summary>
    public async Task CreateAllAsync(CancellationToken cancellationToken)
    {
        foreach (var setup in setups)
            await setup.CreateIndexesAsync(database, cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CreateAllAsync(stoppingToken);
                LogCreated(logger);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, e, backoff);
                await Task.Delay(backoff, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "MongoDB indexes are in place")]
    private static partial void LogCreated(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not create MongoDB indexes; retrying in {Backoff}")]
    private static partial void LogFailed(ILogger logger, Exception exception, TimeSpan backoff);
}
