using Microsoft.AspNetCore.Diagnostics;
using MongoDB.Driver;

namespace Vocab.HttpBridge.Errors;

/// <summary>Turns MongoDB being down into a generic 503; the cause is logged, never returned.</summary>
public sealed partial class DependencyFailureHandler(ILogger<DependencyFailureHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (MongoException or TimeoutException))
            return false;
        LogDependencyDown(logger, exception, httpContext.Request.Path);
        await ProblemResponses.ForStatus(httpContext, StatusCodes.Status503ServiceUnavailable, "Service unavailable").ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A dependency failed while serving {Path}")]
    private static partial void LogDependencyDown(ILogger logger, Exception exception, string path);
}
