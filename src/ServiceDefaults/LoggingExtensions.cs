using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Formatting.Compact;

namespace Vocab.ServiceDefaults;

/// <summary>Serilog for every Vocab process: readable console text locally, compact JSON in containers (<c>Logging:Format=json</c>).</summary>
public static class LoggingExtensions
{
    /// <summary>Adds Serilog, configured from the <c>Serilog</c> section.</summary>
    public static IHostApplicationBuilder AddVocabLogging(this IHostApplicationBuilder builder)
    {
        var json = string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase);
        // Serilog writes the console; the host's default console provider would print every line twice.
        builder.Logging.ClearProviders();
        // writeToProviders keeps other logger providers (tests' capturing ones) fed; preserveStaticLogger keeps each host (several per test run) on its own logger.
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration).Enrich.FromLogContext();
            if (json)
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            else
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
        }, preserveStaticLogger: true, writeToProviders: true);
        return builder;
    }
}
