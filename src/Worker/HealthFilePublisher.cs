using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Vocab.Worker;

/// <summary>
/// The worker serves no HTTP, so container health checks look at a file: the framework's health check publisher runs the
/// ready checks (RabbitMQ bus, MongoDB) every <c>Health:Interval</c>, and this touches the file while they pass and
/// removes it when they fail or the worker stops. Off unless <c>Health:FilePath</c> is set.
/// </summary>
public sealed partial class HealthFilePublisher(IOptions<HealthFileOptions> options, ILogger<HealthFilePublisher> logger) : IHealthCheckPublisher, IDisposable
{
    public async Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        var path = options.Value.FilePath;
        if (string.IsNullOrWhiteSpace(path))
            return;
        if (report.Status == HealthStatus.Healthy)
        {
            // Written aside and moved in place: a probe never reads a half-written file.
            await File.WriteAllTextAsync(path + ".tmp", DateTimeOffset.UtcNow.ToString("O"), cancellationToken);
            File.Move(path + ".tmp", path, overwrite: true);
            return;
        }
        File.Delete(path);
        LogNotReady(logger, report.Status, string.Join(", ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => e.Key)));
    }

    /// <summary>A stopped worker is not ready: the file goes with it.</summary>
    public void Dispose()
    {
        if (!string.IsNullOrWhiteSpace(options.Value.FilePath))
            File.Delete(options.Value.FilePath);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker not ready ({Status}): {FailingChecks}")]
    private static partial void LogNotReady(ILogger logger, HealthStatus status, string failingChecks);
}
