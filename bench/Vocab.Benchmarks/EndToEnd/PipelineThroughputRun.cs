using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Vocab.Authentication.ApiKeys;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>
/// Publishes N messages to the real broker and measures consumed messages per second and publish-to-done latency for
/// each credential variant, alternating the variants round by round at fixed prefetch and concurrency.
/// </summary>
public static class PipelineThroughputRun
{
    private enum Variant { NoAuthentication, ApiKey, Hs256Jwt, HalfInvalid }

    private sealed record RunResult(double MessagesPerSecond, double P50, double P95, double P99);

    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-e2e");
        environment.Llm.Behaviour = _ => Vocab.TestSupport.FakeLlmAnswer.Items(3);
        var results = Enum.GetValues<Variant>().ToDictionary(v => v, _ => new List<RunResult>());

        // One warm-up run of each kind (JIT, connections, caches), then the measured rounds: A B C D, A B C D, ...
        foreach (var variant in Enum.GetValues<Variant>())
            await RunOnceAsync(environment, variant, Math.Min(300, settings.Messages));
        for (var round = 0; round < settings.Rounds; round++)
        {
            foreach (var variant in Enum.GetValues<Variant>())
            {
                var result = await RunOnceAsync(environment, variant, settings.Messages);
                results[variant].Add(result);
                Console.WriteLine($"round {round + 1} {variant}: {result.MessagesPerSecond:0} msg/s, p50 {result.P50:0.0} ms");
            }
        }

        var baseline = Distribution.OfRuns(results[Variant.NoAuthentication].Select(r => r.MessagesPerSecond)).Median;
        var table = new StringBuilder("| variant | msg/s | ratio to no auth | p50 ms | p95 ms | p99 ms |\n| --- | --- | --- | --- | --- | --- |\n");
        foreach (var (variant, runs) in results)
        {
            var throughput = Distribution.OfRuns(runs.Select(r => r.MessagesPerSecond));
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {Describe(variant)} | {Distribution.Format(throughput, "0")} | {throughput.Median / baseline:0.00} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P50)), "0.0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P95)), "0.0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P99)), "0.0")} |");
        }
        report.Section("End to end: worker throughput and latency by credential",
            table + $"\nMedian (min–max) of {settings.Rounds} rounds of {settings.Messages} messages each; variants alternate within each round. " +
                    "Latency runs from the publisher's send to the `VocabularyGenerated` event (or, for refused messages, the dead-letter queue) " +
                    "reaching a consumer of the benchmark. Every accepted message is looked up and stored in MongoDB and answered by the local LLM endpoint. " +
                    "Each run starts on an empty database: the jongodb stand-in's lookups slow down as a collection grows, which would otherwise favour whichever variant ran first.");

        var baselineRuns = Distribution.OfRuns(results[Variant.NoAuthentication].Select(r => r.MessagesPerSecond));
        report.Section("End to end: run-to-run spread",
            $"The no-authentication runs alone ranged from {baselineRuns.Min:0} to {baselineRuns.Max:0} msg/s, " +
            $"{(baselineRuns.Max - baselineRuns.Min) / baselineRuns.Median:P0} of their median: a ratio within that band of 1.00 is not a " +
            "measurable difference on this machine, whichever side of a target it falls.");

        var apiKeyRatio = Distribution.OfRuns(results[Variant.ApiKey].Select(r => r.MessagesPerSecond)).Median / baseline;
        var jwtRatio = Distribution.OfRuns(results[Variant.Hs256Jwt].Select(r => r.MessagesPerSecond)).Median / baseline;
        report.Target("Throughput with API key (warm cache) ÷ without authentication", apiKeyRatio, 0.95, higherIsBetter: true, "×");
        report.Target("Throughput with HS256 JWT + blacklist ÷ without authentication", jwtRatio, 0.90, higherIsBetter: true, "×");
    }

    private static string Describe(Variant variant) => variant switch
    {
        Variant.NoAuthentication => "(a) no authentication",
        Variant.ApiKey => "(b) API key",
        Variant.Hs256Jwt => "(c) HS256 JWT + blacklist",
        _ => "(d) 50% invalid API keys",
    };

    private static async Task<RunResult> RunOnceAsync(BenchEnvironment environment, Variant variant, int messages)
    {
        // A fresh database per run: the stored vocabularies grow with every message, and no variant may inherit another's.
        environment.UseFreshDatabase();
        using var worker = await environment.StartWorkerAsync(authenticate: variant != Variant.NoAuthentication);
        var apiKey = await environment.CreateApiKeyAsync(worker.Services, "bench-user");
        var token = environment.Tokens.Hs256("bench-user", expires: DateTime.UtcNow.AddHours(1));

        var sent = new ConcurrentDictionary<Guid, long>();
        var latencies = new ConcurrentBag<double>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var remaining = messages;
        void Complete(Guid requestId)
        {
            if (!sent.TryRemove(requestId, out var start))
                return;
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (Interlocked.Decrement(ref remaining) == 0)
                done.TrySetResult();
        }

        var publisher = await environment.StartPublisherAsync(rabbit =>
            rabbit.ReceiveEndpoint($"bench-results-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<VocabularyGenerated>(context =>
                {
                    Complete(context.Message.RequestId);
                    return Task.CompletedTask;
                });
            }));
        await using var amqp = await new ConnectionFactory { Uri = environment.VirtualHost.AmqpUri }.CreateConnectionAsync();
        await using var channel = await amqp.CreateChannelAsync();
        await channel.QueueDeclareAsync("generate-vocabulary_error", durable: true, exclusive: false, autoDelete: false);
        await channel.QueuePurgeAsync("generate-vocabulary_error");
        var errors = new AsyncEventingBasicConsumer(channel);
        errors.ReceivedAsync += (_, delivery) =>
        {
            using var json = JsonDocument.Parse(delivery.Body);
            var message = json.RootElement.TryGetProperty("message", out var m) ? m : json.RootElement;
            if (message.TryGetProperty("requestId", out var id) && Guid.TryParse(id.GetString(), out var requestId))
                Complete(requestId);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync("generate-vocabulary_error", autoAck: true, errors);

        var endpoint = await publisher.GetSendEndpoint(new Uri("queue:generate-vocabulary"));
        var started = Stopwatch.GetTimestamp();
        using var inFlight = new SemaphoreSlim(256);
        var sends = Enumerable.Range(0, messages).Select(async i =>
        {
            await inFlight.WaitAsync();
            try
            {
                var request = new GenerateVocabulary
                {
                    RequestId = Guid.NewGuid(), VideoId = $"bench-{i}", Transcript = "A short transcript for the benchmark.",
                    SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 5,
                };
                sent[request.RequestId] = Stopwatch.GetTimestamp();
                await endpoint.Send(request, context =>
                {
                    switch (variant)
                    {
                        case Variant.ApiKey:
                            context.UseApiKey(apiKey);
                            break;
                        case Variant.Hs256Jwt:
                            context.UseBearerToken(token);
                            break;
                        case Variant.HalfInvalid:
                            context.UseApiKey(i % 2 == 0 ? apiKey : ApiKeyFormat.Generate().Key);
                            break;
                    }
                });
            }
            finally
            {
                inFlight.Release();
            }
        });
        await Task.WhenAll(sends);
        Console.WriteLine($"  {variant}: {messages} sent in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.00} s");
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await publisher.StopAsync();
        await worker.StopAsync();

        var samples = latencies.ToArray();
        return new RunResult(messages / elapsed, Distribution.Percentile(samples, 50), Distribution.Percentile(samples, 95), Distribution.Percentile(samples, 99));
    }
}
