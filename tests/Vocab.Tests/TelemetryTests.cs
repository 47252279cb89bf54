using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;
using Vocab.Contracts;
using Vocab.ServiceDefaults;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests;

/// <summary>Authentication outcomes are counted by method and reason; OTLP export is on only when configured.</summary>
public sealed class TelemetryTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>
{
    [Fact]
    public async Task AuthenticationOutcomes_AreCountedByMethodAndReason()
    {
        var outcomes = new ConcurrentBag<(string? Method, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Vocab.Authentication")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? method = null, outcome = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "method") method = tag.Value as string;
                if (tag.Key == "outcome") outcome = tag.Value as string;
            }
            outcomes.Add((method, outcome));
        });
        listener.Start();

        var (_, key) = await fixture.CreateApiKeyAsync("metrics-user");
        await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        await fixture.RequestAsync(WorkerFixture.NewRequest(), _ => { });

        Assert.Contains(("api_key", "success"), outcomes);
        Assert.Contains(("none", RejectionReasons.MissingCredentials), outcomes);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("http://127.0.0.1:4317", true)]
    public void Tracing_IsOnOnlyWhenOtlpEndpointIsSet(string? endpoint, bool expected)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint });
        builder.AddVocabTelemetry();
        using var host = builder.Build();
        Assert.Equal(expected, host.Services.GetService<TracerProvider>() is not null);
    }
}
