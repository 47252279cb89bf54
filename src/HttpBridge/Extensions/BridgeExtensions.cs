using System.Threading.RateLimiting;
using MassTransit;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.HttpBridge.Authentication;
using Vocab.HttpBridge.Endpoints;
using Vocab.HttpBridge.Errors;
using Vocab.Messaging;
using Vocab.Plans;
using Vocab.Security;
using Vocab.ServiceDefaults;
using Vocab.Vocabularies;

namespace Vocab.HttpBridge.Extensions;

/// <summary>The bridge's services and pipeline, so tests host exactly what production runs.</summary>
public static class BridgeExtensions
{
    /// <summary>The largest request body taken (413 beyond): a transcript at its limit with every character escaped (\uXXXX), and room.</summary>
    public const long MaxRequestBodyBytes = GenerateVocabularyRules.MaxTranscriptLength * 6L + 64 * 1024;

    public static WebApplicationBuilder AddVocabBridge(this WebApplicationBuilder builder)
    {
        builder.AddVocabLogging();
        builder.AddVocabTelemetry(tracing => tracing.AddAspNetCoreInstrumentation(), metrics => metrics.AddAspNetCoreInstrumentation());
        builder.AddVocabAuthentication();
        builder.AddVocabPlans();
        builder.AddVocabularies();
        builder.AddTransportSecurity("ConnectionStrings:RabbitMq", "ConnectionStrings:Mongo", PlaintextRefusal.ServerUrls);
        builder.AddRabbitMqConnection();
        builder.AddForwardedHeadersFromTrustedProxies();
        // The largest request a caller can send is a transcript at its limit, JSON-escaped: the server's 30 MB default
        // would let one key hold gigabytes of bodies in flight before validation refuses them.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes);
        builder.Services.AddHsts(options =>
        {
            options.MaxAge = TimeSpan.FromDays(365);
            options.IncludeSubDomains = true;
            // Every HTTPS answer carries it, loopback included: the header is harmless there and testable.
            options.ExcludedHosts.Clear();
        });
        var services = builder.Services;
        services.AddOptions<BridgeOptions>()
            .BindConfiguration(BridgeOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.RabbitMqConnectionString = configuration.GetConnectionString("RabbitMq") ?? "")
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddAuthentication(VocabAuthenticationDefaults.Scheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, VocabAuthenticationHandler>(VocabAuthenticationDefaults.Scheme, null);
        services.AddAuthorization();
        services.AddRateLimiter(AddPerUserLimit);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions.TryAdd("traceId", System.Diagnostics.Activity.Current?.Id ?? context.HttpContext.TraceIdentifier));
        services.AddExceptionHandler<DependencyFailureHandler>();
        services.AddOpenApi();
        services.AddSingleton<VocabularyRequester>();
        services.AddSingleton(sp =>
        {
            var bridge = sp.GetRequiredService<IOptions<BridgeOptions>>().Value;
            return new FailedAuthenticationThrottle(bridge.FailedAuthenticationsPerMinute, bridge.ThrottledAddressLimit, bridge.TrustedClientNetworks(),
                sp.GetRequiredService<TimeProvider>());
        });

        services.AddMassTransit(bus =>
        {
            // MassTransit reports usage to its vendor over the internet unless told not to: nothing leaves this service.
            bus.DisableUsageTelemetry();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                rabbit.VocabHost(context, new Uri(context.GetRequiredService<IOptions<BridgeOptions>>().Value.RabbitMqConnectionString),
                    "Vocab.HttpBridge.RabbitMq");
                // The request client's responses arrive on this bus-instance queue. A name of our own, rather than MassTransit's
                // <machine>_<process>_bus_<id>, lets the vocab-bridge broker account be limited to it (rabbitmq/definitions.json).
                rabbit.OverrideDefaultBusEndpointQueueName(RequesterEndpoints.NewName());
                // Responses one at a time, in arrival order. The worker sends a requester one answer; this keeps the
                // bridge safe with an older worker, whose bare fault followed its rejection.
                rabbit.ConcurrentMessageLimit = 1;
            });
        });
        // The bridge starts (and answers /health and 503s) even while the broker is down.
        services.AddOptions<MassTransitHostOptions>().Configure(o => o.WaitUntilStarted = false);
        return builder;
    }

    public static WebApplication UseVocabBridge(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseHsts();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.MapOpenApi();
        app.MapHealthEndpoints();
        app.MapVocabularyEndpoints();
        app.MapUsageEndpoints();
        return app;
    }

    private static void AddPerUserLimit(RateLimiterOptions options)
    {
        options.AddPolicy(VocabularyEndpoints.RateLimitPolicy, http =>
        {
            var permits = http.RequestServices.GetRequiredService<IOptions<BridgeOptions>>().Value.PermitsPerMinute;
            var partition = http.User.FindFirst(VocabAuthenticationDefaults.UserIdClaim)?.Value
                            ?? http.Connection.RemoteIpAddress?.ToString() ?? "anonymous";
            return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0,
            });
        });
        options.OnRejected = async (context, _) =>
        {
            var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
            context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ProblemResponses.ForReason(context.HttpContext, RejectionReasons.RateLimited).ExecuteAsync(context.HttpContext);
        };
    }
}
