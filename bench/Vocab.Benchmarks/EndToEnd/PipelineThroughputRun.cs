using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.Messaging;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>
/// Publishes N messages to the real broker and measures consumed messages per second and publish-to-done latency for
/// each credential variant, alternating the variants round by round at fixed prefetch and concurrency.
/// </summary>
public static class PipelineThroughputRun
{
    private enum Variant { NoAuthentication, ApiKey, Hs256Jwt, HalfInvalid, ManyApiKeys, ManyJwtUsers }

    // Runs of the no-authentication variant that warm up first (2,000 messages at the default 500 a run).
    private const int WarmUpRuns = 4;

    private sealed record RunResult(double MessagesPerSecond, double P50, double P95, double P99, double CpuMicrosecondsPerMessage,
        double HitRate, double LoadsPerMessage, double WorkingSetMb, double ParkedPerMessage);

    /// <summary>Runs the variants; returns the median CPU µs per message of (b) API key and (c) HS256 JWT (null when not run).</summary>
    public static async Task<(double? ApiKey, double? Jwt)> RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-e2e");
        environment.Llm.Behaviour = _ => Vocab.TestSupport.FakeLlmAnswer.Items(3);
        var variants = Enum.GetValues<Variant>()
            .Where(v => v == Variant.NoAuthentication || settings.E2eVariants.Count == 0 || settings.E2eVariants.Contains(((char)('a' + (int)v)).ToString()))
            .ToArray();
        var results = variants.ToDictionary(v => v, _ => new List<RunResult>());
        var jwtUsers = Enumerable.Range(0, settings.DistinctCallers)
            .Select(i => environment.Tokens.Hs256($"bench-user-{i}", expires: DateTime.UtcNow.AddHours(2))).ToArray();

        // Warm-up (JIT, connections, caches): a few full runs first, since the background compiler re-compiles hot code at its
        // own pace and a faster pipeline leaves more of it to the timed runs, then one run of each kind; then the measured
        // rounds, in a shuffled order each round so no variant always follows the same one.
        for (var run = 0; run < WarmUpRuns; run++)
            await RunOnceAsync(environment, Variant.NoAuthentication, settings.Messages, jwtUsers);
        foreach (var variant in variants)
            await RunOnceAsync(environment, variant, Math.Min(200, settings.Messages), jwtUsers);
        var random = new Random(20261129);
        for (var round = 0; round < settings.Rounds; round++)
        {
            foreach (var variant in variants.OrderBy(_ => random.Next()).ToArray())
            {
                var result = await RunOnceAsync(environment, variant, settings.Messages, jwtUsers);
                results[variant].Add(result);
                Console.WriteLine($"round {round + 1} {variant}: {result.MessagesPerSecond:0} msg/s, {result.CpuMicrosecondsPerMessage:0} µs CPU/msg, hit rate {result.HitRate:P0}, parked {result.ParkedPerMessage:0.00} per message");
            }
        }

        // Ratios are taken within a round (same machine state), then summarised over rounds.
        List<double> RoundRatios(Variant variant, Func<RunResult, double> measure) =>
            results[variant].Zip(results[Variant.NoAuthentication], (v, b) => measure(v) / measure(b)).ToList();
        var table = new StringBuilder("| variant | CPU µs per message | CPU ÷ no auth (per round) | msg/s | msg/s ÷ no auth (per round) | cache hit rate | lookups per message | p50 ms | p95 ms | working set MB |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var (variant, runs) in results)
        {
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {Describe(variant, settings)} | {Distribution.Format(Distribution.OfRuns(runs.Select(r => r.CpuMicrosecondsPerMessage)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(RoundRatios(variant, r => r.CpuMicrosecondsPerMessage)), "0.00")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.MessagesPerSecond)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(RoundRatios(variant, r => r.MessagesPerSecond)), "0.00")} | " +
                $"{Distribution.OfRuns(runs.Select(r => r.HitRate)).Median:P0} | {Distribution.OfRuns(runs.Select(r => r.LoadsPerMessage)).Median:0.00} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P50)), "0.0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P95)), "0.0")} | {runs.Max(r => r.WorkingSetMb):0} |");
        }
        report.Section("End to end: what authentication costs per message",
            table + $"\nMedian (min–max) of {settings.Rounds} rounds of {settings.Messages} messages each; the variants run in a shuffled order in each round, after a warm-up of {WarmUpRuns * settings.Messages:N0} messages and one run of each variant. " +
                    "**CPU per message** (CPU-normalised, the primary figure) is this process's user + system time over the run divided by the messages: the " +
                    "worker, its publisher and the result listener share the process, the broker and MongoDB do not. It is far less sensitive to a noisy " +
                    "neighbour than msg/s, which is **wall-clock**. Ratios are taken within each round against that round's no-authentication run. " +
                    "Cache hit rate and lookups per message come from the worker's lookup cache (each lookup that misses is one MongoDB query or signature check). " +
                    $"The many-caller variants send each message from a random one of {settings.DistinctCallers:N0} API keys or JWT users. " +
                    "Working set is this process's at the end of the run, the largest over the rounds. Each run starts on an empty database: the jongodb " +
                    "stand-in's lookups slow down as a collection grows, which would otherwise favour whichever variant ran first.");

        if (results.ContainsKey(Variant.ApiKey))
            report.TargetOfRounds("CPU per message, API key ÷ no authentication", RoundRatios(Variant.ApiKey, r => r.CpuMicrosecondsPerMessage), 1.05, higherIsBetter: false, "×");
        if (results.ContainsKey(Variant.Hs256Jwt))
            report.TargetOfRounds("CPU per message, HS256 JWT + blacklist ÷ no authentication", RoundRatios(Variant.Hs256Jwt, r => r.CpuMicrosecondsPerMessage), 1.10, higherIsBetter: false, "×");
        if (results.ContainsKey(Variant.ManyApiKeys))
            report.TargetOfRounds($"CPU per message, {settings.DistinctCallers:N0} API keys ÷ no authentication", RoundRatios(Variant.ManyApiKeys, r => r.CpuMicrosecondsPerMessage), 1.05, higherIsBetter: false, "×");
        if (results.ContainsKey(Variant.ManyJwtUsers))
            report.TargetOfRounds($"CPU per message, {settings.DistinctCallers:N0} JWT users ÷ no authentication", RoundRatios(Variant.ManyJwtUsers, r => r.CpuMicrosecondsPerMessage), 1.10, higherIsBetter: false, "×");
        if (results.ContainsKey(Variant.ApiKey))
            report.TargetOfRounds("Throughput with API key ÷ without authentication (wall-clock)", RoundRatios(Variant.ApiKey, r => r.MessagesPerSecond), 0.95, higherIsBetter: true, "×");
        if (results.ContainsKey(Variant.Hs256Jwt))
            report.TargetOfRounds("Throughput with HS256 JWT + blacklist ÷ without authentication (wall-clock)", RoundRatios(Variant.Hs256Jwt, r => r.MessagesPerSecond), 0.90, higherIsBetter: true, "×");
        double? MedianCpu(Variant variant) =>
            results.TryGetValue(variant, out var runs) ? Distribution.OfRuns(runs.Select(r => r.CpuMicrosecondsPerMessage)).Median : null;
        return (MedianCpu(Variant.ApiKey), MedianCpu(Variant.Hs256Jwt));
    }

    private static string Describe(Variant variant, BenchSettings settings) => variant switch
    {
        Variant.NoAuthentication => "(a) no authentication",
        Variant.ApiKey => "(b) API key, one caller",
        Variant.Hs256Jwt => "(c) HS256 JWT + blacklist, one caller",
        Variant.HalfInvalid => "(d) 50% invalid API keys",
        Variant.ManyApiKeys => $"(e) {settings.DistinctCallers:N0} API keys",
        _ => $"(f) {settings.DistinctCallers:N0} JWT users",
    };

    private static async Task<RunResult> RunOnceAsync(BenchEnvironment environment, Variant variant, int messages, string[] jwtUsers)
    {
        // A fresh database per run: the stored vocabularies grow with every message, and no variant may inherit another's.
        environment.UseFreshDatabase();
        using var worker = await environment.StartWorkerAsync(authenticate: variant != Variant.NoAuthentication);
        var apiKey = await environment.CreateApiKeyAsync(worker.Services, "bench-user");
        var token = environment.Tokens.Hs256("bench-user", expires: DateTime.UtcNow.AddHours(1));
        var manyKeys = variant == Variant.ManyApiKeys ? await CreateKeysAsync(worker.Services, jwtUsers.Length) : [];
        var cache = worker.Services.GetRequiredService<LookupCache>();
        var (hitsBefore, loadsBefore) = (cache.Hits, cache.Loads);
        using var parked = new ParkedCounter();
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
        await channel.QueueDeclareAsync(QueueNames.Error(QueueNames.DefaultInput), durable: true, exclusive: false, autoDelete: false);
        await channel.QueuePurgeAsync(QueueNames.Error(QueueNames.DefaultInput));
        var errors = new AsyncEventingBasicConsumer(channel);
        errors.ReceivedAsync += (_, delivery) =>
        {
            using var json = JsonDocument.Parse(delivery.Body);
            var message = json.RootElement.TryGetProperty("message", out var m) ? m : json.RootElement;
            if (message.TryGetProperty("requestId", out var id) && Guid.TryParse(id.GetString(), out var requestId))
                Complete(requestId);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(QueueNames.Error(QueueNames.DefaultInput), autoAck: true, errors);
        // A refused credential is filed on _refused with the message's ids only (no body): the message id is the requestId.
        await channel.QueueDeclareAsync(QueueNames.Refused(QueueNames.DefaultInput), durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = 10_000, ["x-overflow"] = "drop-head" });
        await channel.QueuePurgeAsync(QueueNames.Refused(QueueNames.DefaultInput));
        var refusals = new AsyncEventingBasicConsumer(channel);
        refusals.ReceivedAsync += (_, delivery) =>
        {
            if (Guid.TryParse(delivery.BasicProperties.MessageId, out var requestId))
                Complete(requestId);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(QueueNames.Refused(QueueNames.DefaultInput), autoAck: true, refusals);

        var endpoint = await publisher.GetSendEndpoint(new Uri($"queue:{QueueNames.DefaultInput}"));
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
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
                    context.MessageId = request.RequestId;
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
                        case Variant.ManyApiKeys:
                            context.UseApiKey(manyKeys[Random.Shared.Next(manyKeys.Length)]);
                            break;
                        case Variant.ManyJwtUsers:
                            context.UseBearerToken(jwtUsers[Random.Shared.Next(jwtUsers.Length)]);
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
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var (hits, loads) = (cache.Hits - hitsBefore, cache.Loads - loadsBefore);
        var workingSet = process.WorkingSet64 / (1024.0 * 1024);
        await publisher.StopAsync();
        await worker.StopAsync();

        var samples = latencies.ToArray();
        return new RunResult(messages / elapsed, Distribution.Percentile(samples, 50), Distribution.Percentile(samples, 95), Distribution.Percentile(samples, 99),
            cpu.TotalMilliseconds * 1000 / messages, hits + loads == 0 ? 0 : hits / (double)(hits + loads), loads / (double)messages, workingSet, parked.Count / (double)messages);
    }

    private static async Task<string[]> CreateKeysAsync(IServiceProvider services, int count) =>
        (await services.GetRequiredService<ApiKeyStore>().CreateManyAsync(
            Enumerable.Range(0, count).Select(i => $"bench-user-{i}").ToList(), Roles.User, DateTime.UtcNow)).Select(k => k.Key).ToArray();
}
