using Microsoft.Extensions.Diagnostics.HealthChecks;
using MongoDB.Bson;

namespace Vocab.Storage;

/// <summary>Ready only when MongoDB answers a ping (tag <see cref="ReadyTag"/>).</summary>
public sealed class MongoHealthCheck(VocabDatabase database) : IHealthCheck
{
    /// <summary>The tag of checks that say whether the process can serve (MassTransit tags its bus check the same).</summary>
    public const string ReadyTag = "ready";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await database.Database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("MongoDB did not answer a ping.");
        }
    }
}
