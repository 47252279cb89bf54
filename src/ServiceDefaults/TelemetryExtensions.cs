using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Vocab.ServiceDefaults;

/// <summary>
/// OpenTelemetry traces (MassTransit's ActivitySource, outgoing HTTP such as LLM calls) and metrics (Vocab's meters,
/// MassTransit's), exported over OTLP as configured by the standard <c>OTEL_*</c> variables; off when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is unset.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>The meters every Vocab process may publish.</summary>
    public static readonly string[] Meters = ["Vocab.Authentication", "Vocab.Llm", "Vocab.Usage", "Vocab.DeadLetters", "Vocab.Storage", "Vocab.FairShare", "MassTransit"];

    public static IHostApplicationBuilder AddVocabTelemetry(this IHostApplicationBuilder builder,
        Action<TracerProviderBuilder>? tracing = null, Action<MeterProviderBuilder>? metrics = null)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            return builder;

        builder.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName))
            .WithTracing(tracer =>
            {
                tracer.AddSource("MassTransit").AddHttpClientInstrumentation().AddOtlpExporter();
                tracing?.Invoke(tracer);
            })
            .WithMetrics(meter =>
            {
                meter.AddMeter(Meters).AddHttpClientInstrumentation().AddOtlpExporter();
                metrics?.Invoke(meter);
            });
        return builder;
    }
}
