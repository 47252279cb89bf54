using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Vocab.Storage;

namespace Vocab.Worker;

/// <summary>
/// The worker serves no HTTP, so container health checks look at a file: it is touched while the ready checks
/// (RabbitMQ bus, MongoDB) pass and removed when they fail. Off unless <c>Health:FilePath</c> is set.
/// </summary>
public sealed partial class HealthFileReporter(HealthCheckService health, IOptions<HealthFileOptions> options, ILogger<HealthFileReporter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = options.Value.FilePath;
        if (string.IsNullOrWhiteSpace(path))
            return;
        using var timer = new PeriodicTimer(options.Value.Interval);
        try
        {
            do
            {
                var report = await health.CheckHealthAsync(check => check.Tags.Contains(MongoHealthCheck.ReadyTag), stoppingToken);
                if (report.Status == HealthStatus.Healthy)
                {
                    // Written aside and moved in place: a probe never reads a half-written file.
                    await File.WriteAllTextAsync(path + ".tmp", DateTimeOffset.UtcNow.ToString("O"), stoppingToken);
                    File.Move(path + ".tmp", path, overwrite: true);
                }
                else
                {
                    File.Delete(path);
                    LogNotReady(logger, report.Status, string.Join(", ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => e.Key)));
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            File.Delete(path);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker not ready ({Status}): {FailingChecks}")]
    private static partial void LogNotReady(ILogger logger, HealthStatus status, string failingChecks);
}
