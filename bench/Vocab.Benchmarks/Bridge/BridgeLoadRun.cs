using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Benchmarks.EndToEnd;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.HttpBridge;
using Vocab.Vocabularies;
using Vocab.TestSupport;
using Vocab.Worker.Llm;

namespace Vocab.Benchmarks.Bridge;

/// <summary>
/// The HTTP bridge under load with and without authentication (same run, alternating), and what the bus round trip
/// adds over calling the consumer's logic directly.
/// </summary>
public static class BridgeLoadRun
{
    private sealed record LoadResult(double RequestsPerSecond, double P50, double P95, double P99);

    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-bridge");
        environment.Llm.Behaviour = _ => Vocab.TestSupport.FakeLlmAnswer.Items(3);
        var results = new Dictionary<bool, List<LoadResult>> { [false] = [], [true] = [] };
        await LoadOnceAsync(environment, settings, authenticate: true, Math.Min(100, settings.HttpRequests));
        await LoadOnceAsync(environment, settings, authenticate: false, Math.Min(100, settings.HttpRequests));
        for (var round = 0; round < settings.Rounds; round++)
        {
            foreach (var authenticate in new[] { false, true })
            {
                var result = await LoadOnceAsync(environment, settings, authenticate, settings.HttpRequests);
                results[authenticate].Add(result);
                Console.WriteLine($"bridge round {round + 1} auth={authenticate}: {result.RequestsPerSecond:0} req/s, p50 {result.P50:0.0} ms");
            }
        }

        var table = new StringBuilder("| bridge | req/s | p50 ms | p95 ms | p99 ms |\n| --- | --- | --- | --- | --- |\n");
        foreach (var (authenticate, runs) in results)
        {
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {(authenticate ? "API key (bridge and worker check it)" : "no authentication")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.RequestsPerSecond)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P50)), "0.0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P95)), "0.0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P99)), "0.0")} |");
        }
        report.Section("HTTP bridge: requests per second with and without authentication",
            table + $"\nMedian (min–max) of {settings.Rounds} rounds of {settings.HttpRequests} `POST /videos/{{id}}/vocabulary` requests, " +
                    $"{settings.HttpConcurrency} at a time over loopback, through the bus to the worker and back.");

        var (direct, bus, http) = await RoundTripAsync(environment, settings);
        var bare = await BareRoundTrip.MeasureAsync(environment.VirtualHost.AmqpUri, settings.RoundTrips);
        report.Section("Bus round trip versus calling the consumer's logic directly",
            $"| path | p50 ms | p95 ms |\n| --- | --- | --- |\n" +
            $"| baseline: bare MassTransit request/response, a consumer that answers at once | {Distribution.Percentile(bare, 50):0.00} | {Distribution.Percentile(bare, 95):0.00} |\n" +
            $"| consumer logic called directly (stored-result lookup, LLM call, store: 2 MongoDB commands) | {direct.P50:0.00} | {direct.P95:0.00} |\n" +
            $"| MassTransit request through RabbitMQ to the worker (authenticated) and back, as the bridge sends it (lookup, admission, store: 3 MongoDB commands) | {bus.P50:0.00} | {bus.P95:0.00} |\n" +
            $"| `POST /videos/{{id}}/vocabulary` through the bridge (API key), which sends that request | {http.P50:0.00} | {http.P95:0.00} |\n" +
            $"\n{settings.RoundTrips} sequential calls each, the three paths alternating call by call on the same worker, database and machine. " +
            "**What the bridge adds** over a MassTransit request to the same worker is the last row less the one before: HTTP over " +
            "loopback, authentication on a warm cache, validation and the answer's mapping; the bridge sends no MongoDB command " +
            "(`MongoCommandBudgetTests`). **What the worker's pipeline adds** over its logic (the third row less the second) is two " +
            "broker hops through MassTransit's send and receive pipelines, authentication on a warm cache, the requestId's lookup, " +
            "the plan's admission (which claims the requestId, carries the last settlement and returns what the rate window has " +
            "left for the `RateLimit` headers; MongoDB commands the direct call does not send), and the publisher confirmations of the reply " +
            "and the `VocabularyGenerated` event, awaited together.");
        report.Target("Bridge over a MassTransit request to the same worker, p50", http.P50 - bus.P50, 2, higherIsBetter: false, " ms");
        report.Target("Worker pipeline over the consumer's logic, p50 (lookup and admission in MongoDB)", bus.P50 - direct.P50, 2, higherIsBetter: false, " ms");
    }

    private static Task<BridgeHost> StartBridgeAsync(BenchEnvironment environment, bool authenticate) =>
        BridgeHost.StartAsync(environment.Configuration(), authenticate ? null : builder =>
            builder.Services.AddAuthentication(options =>
            {
                options.DefaultScheme = FixedCallerHandler.SchemeName;
                options.DefaultAuthenticateScheme = FixedCallerHandler.SchemeName;
                options.DefaultChallengeScheme = FixedCallerHandler.SchemeName;
            }).AddScheme<AuthenticationSchemeOptions, FixedCallerHandler>(FixedCallerHandler.SchemeName, null));

    private static async Task<LoadResult> LoadOnceAsync(BenchEnvironment environment, BenchSettings settings, bool authenticate, int requests)
    {
        environment.UseFreshDatabase();
        using var worker = await environment.StartWorkerAsync(authenticate);
        await using var bridge = await StartBridgeAsync(environment, authenticate);
        var apiKey = await environment.CreateApiKeyAsync(worker.Services, "bench-user");
        var client = bridge.Client;
        if (authenticate)
            client.DefaultRequestHeaders.Add(VocabHeaders.ApiKey, apiKey);

        var latencies = new ConcurrentBag<double>();
        var next = -1;
        var started = Stopwatch.GetTimestamp();
        var loops = Enumerable.Range(0, settings.HttpConcurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < requests)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await client.PostAsJsonAsync($"/videos/bench-{next}/vocabulary",
                    new { transcript = "A short transcript for the benchmark.", sourceLanguage = "en", targetLanguage = "ko", maxItems = 5 });
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"bridge answered {(int)response.StatusCode}");
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        });
        await Task.WhenAll(loops);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await worker.StopAsync();
        var samples = latencies.ToArray();
        return new LoadResult(requests / elapsed, Distribution.Percentile(samples, 50), Distribution.Percentile(samples, 95), Distribution.Percentile(samples, 99));
    }

    private static async Task<double> TimeAsync(Func<GenerateVocabulary, Task> call)
    {
        var request = new GenerateVocabulary
        {
            RequestId = Guid.NewGuid(), VideoId = "bench-rt", Transcript = $"A short transcript ({Guid.NewGuid():N}).", SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 5,
        };
        var start = Stopwatch.GetTimestamp();
        await call(request);
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static async Task<((double P50, double P95) Direct, (double P50, double P95) Bus, (double P50, double P95) Http)> RoundTripAsync(
        BenchEnvironment environment, BenchSettings settings)
    {
        environment.UseFreshDatabase();
        using var worker = await environment.StartWorkerAsync(authenticate: true);
        await using var bridge = await StartBridgeAsync(environment, authenticate: true);
        var apiKey = await environment.CreateApiKeyAsync(worker.Services, "bench-user");
        var generator = worker.Services.GetRequiredService<VocabularyGenerator>();
        var store = worker.Services.GetRequiredService<VocabularyStore>();
        var requester = bridge.App.Services.GetRequiredService<VocabularyRequester>();
        var credential = Vocab.Authentication.PresentedCredential.FromHeaders(apiKey, null);

        async Task Direct(GenerateVocabulary request)
        {
            await store.FindByRequestIdAsync(request.RequestId, CancellationToken.None);
            var generated = await generator.GenerateAsync(request, "bench", 1, CancellationToken.None);
            await store.InsertOrGetAsync(new VocabularyDocument
            {
                RequestId = request.RequestId.ToString("D"), UserId = "bench-user", VideoId = request.VideoId,
                Items = generated.Items.Select(VocabularyItemDocument.From).ToList(), Model = generated.Model, CreatedAt = DateTime.UtcNow,
            }, CancellationToken.None);
        }

        async Task Bus(GenerateVocabulary request)
        {
            var response = await requester.RequestAsync(request, credential, CancellationToken.None);
            if (!response.Is(out MassTransit.Response<VocabularyGenerated>? _))
                throw new InvalidOperationException("the worker refused a round-trip request");
        }

        var client = bridge.Client;
        client.DefaultRequestHeaders.Add(VocabHeaders.ApiKey, apiKey);
        async Task Http(GenerateVocabulary request)
        {
            using var response = await client.PostAsJsonAsync($"/videos/{request.VideoId}/vocabulary",
                new { transcript = request.Transcript, sourceLanguage = request.SourceLanguage, targetLanguage = request.TargetLanguage, maxItems = request.MaxItems });
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"bridge answered {(int)response.StatusCode}");
        }

        // Alternating call by call, so every path meets the same database (whose stand-in slows as it fills) and machine.
        var direct = new double[settings.RoundTrips];
        var bus = new double[settings.RoundTrips];
        var http = new double[settings.RoundTrips];
        for (var i = -20; i < settings.RoundTrips; i++)
        {
            var directTime = await TimeAsync(Direct);
            var busTime = await TimeAsync(Bus);
            var httpTime = await TimeAsync(Http);
            if (i < 0)
                continue;
            direct[i] = directTime;
            bus[i] = busTime;
            http[i] = httpTime;
        }
        await worker.StopAsync();
        return ((Distribution.Percentile(direct, 50), Distribution.Percentile(direct, 95)), (Distribution.Percentile(bus, 50), Distribution.Percentile(bus, 95)),
            (Distribution.Percentile(http, 50), Distribution.Percentile(http, 95)));
    }
}
