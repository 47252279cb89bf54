using Microsoft.Extensions.Diagnostics.HealthChecks;
using MongoDB.Bson;
using Vocab.Storage;

namespace Vocab.HttpBridge.Health;

/// <summary>Ready only when MongoDB answers a ping.</summary>
public sealed class MongoHealthCheck(VocabDatabase database) : IHealthCheck
{
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
