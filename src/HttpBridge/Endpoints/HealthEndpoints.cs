using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Vocab.Storage;

namespace Vocab.HttpBridge.Endpoints;

/// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (RabbitMQ and MongoDB answer).</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(MongoHealthCheck.ReadyTag) });
        return app;
    }
}
