using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.TestSupport;
using Vocab.Worker.Extensions;

namespace Vocab.Benchmarks.Cluster;

/// <summary>
/// Scale-out on the three-node cluster (scripts/services.sh cluster up): throughput with 1, 2 and 3 workers against an
/// LLM endpoint that answers after 200 ms, classic against quorum queues; and how long answers pause when the node
/// leading the quorum input queue is stopped mid-load.
/// </summary>
public static class ScaleOutRun
{
    private const string Queue = "generate-vocabulary";
    private static readonly TimeSpan LlmLatency = TimeSpan.FromMilliseconds(200);

    /// <summary>Per worker: small on purpose, so that three workers stay under what the MongoDB stand-in can serve.</summary>
    private const int PerWorkerConcurrency = 4;

    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var llm = await FakeLlmServer.StartAsync();
        llm.Behaviour = _ => FakeLlmAnswer.Slow(LlmLatency) with { Content = FakeLlmAnswer.Items(3).Content };
        var messages = settings.ScaleOutMessages;
        var rounds = Math.Min(settings.Rounds, 3);

        var throughput = new Dictionary<(string QueueType, int Workers), List<double>>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var queueType in new[] { "classic", "quorum" })
            {
                for (var workers = 1; workers <= 3; workers++)
                {
                    var rate = await ThroughputAsync(llm, queueType, workers, messages);
                    Console.WriteLine($"scale-out round {round + 1}: {queueType}, {workers} worker(s): {rate:0.0} msg/s");
                    (throughput.TryGetValue((queueType, workers), out var list) ? list : throughput[(queueType, workers)] = []).Add(rate);
                }
            }
        }

        var table = new StringBuilder($"| workers | ideal (C × workers / {LlmLatency.TotalSeconds:0.0} s) | classic msg/s | quorum msg/s |\n| --- | --- | --- | --- |\n");
        for (var workers = 1; workers <= 3; workers++)
        {
            var ideal = PerWorkerConcurrency * workers / LlmLatency.TotalSeconds;
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {workers} | {ideal:0} | {Distribution.Format(Distribution.OfRuns(throughput[("classic", workers)]), "0.0")} | {Distribution.Format(Distribution.OfRuns(throughput[("quorum", workers)]), "0.0")} |");
        }
        var method = FormattableString.Invariant(
            $"\nMedian (min–max) of {rounds} rounds; {messages} requests per cell, sent as requests (64 at once) by a publisher that knows all three nodes; ") +
            FormattableString.Invariant($"each worker is the production composition in this process with Worker:ConcurrentMessageLimit = PrefetchCount = {PerWorkerConcurrency}, ") +
            "connected through RabbitMq:Hosts to all three nodes; a fresh virtual host and database per cell. The per-worker concurrency is kept low so that " +
            "the LLM's latency, not the MongoDB stand-in, bounds each cell: the ideal column is what the LLM allows.";
        report.Section("Scale-out: throughput with 1, 2 and 3 workers (three-node cluster, LLM answers after 200 ms)", table + method);
        for (var workers = 2; workers <= 3; workers++)
        {
            report.TargetOfRounds($"Quorum: {workers} workers ≥ 0.8 × {workers} × one worker's msg/s",
                throughput[("quorum", workers)].Select((r, i) => r / throughput[("quorum", 1)][i]).ToList(), 0.8 * workers, higherIsBetter: true, "×");
        }

        await NodeLossAsync(llm, messages * 4, report);
    }

    private static async Task<double> ThroughputAsync(FakeLlmServer llm, string queueType, int workers, int messages)
    {
        await using var cluster = await RabbitMqCluster.CreateAsync("bench-scale");
        await using var run = await WorkersAsync(cluster, llm, queueType, workers);
        var load = new RequestLoad(run.Publisher, run.ApiKey, Stopwatch.StartNew());
        var started = Stopwatch.GetTimestamp();
        await load.RunAsync(NewRequests(messages), concurrency: 64);
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (load.Answers.Count != messages)
            throw new InvalidOperationException($"{load.Answers.Count} of {messages} answered ({load.Rejections.Count} rejected)");
        return messages / elapsed.TotalSeconds;
    }

    /// <summary>Three workers on quorum queues; the input queue's leader is stopped once a third are answered.</summary>
    private static async Task NodeLossAsync(FakeLlmServer llm, int messages, BenchmarkReport report)
    {
        await using var cluster = await RabbitMqCluster.CreateAsync("bench-node-loss");
        await using var run = await WorkersAsync(cluster, llm, "quorum", workers: 3);
        var clock = Stopwatch.StartNew();
        var load = new RequestLoad(run.Publisher, run.ApiKey, clock);
        var sending = load.RunAsync(NewRequests(messages), concurrency: 64);
        while (load.Answers.Count < messages / 3)
            await Task.Delay(50);
        var leader = (await cluster.QueueAsync(Queue)).Leader ?? throw new InvalidOperationException("the input queue has no leader");
        var stoppedAt = clock.Elapsed;
        await RabbitMqCluster.StopNodeAsync(leader);
        var stopTook = clock.Elapsed - stoppedAt;
        try
        {
            await sending;
        }
        finally
        {
            await RabbitMqCluster.StartNodeAsync(leader);
        }

        var times = load.AnswerTimes;
        var after = times.Where(t => t >= stoppedAt).ToList();
        var gaps = after.Zip(after.Skip(1), (a, b) => (Gap: b - a, At: a)).ToList();
        var longest = gaps.Count == 0 ? default : gaps.MaxBy(g => g.Gap);
        var before = times.Where(t => t < stoppedAt).ToList();
        var rateBefore = before.Count / (stoppedAt - before[0]).TotalSeconds;
        // Answers in each whole second from 3 s before the stop to the end of the load; back to speed: the first second
        // after the stop's dip that ran at 80% of the earlier rate or better.
        var seconds = Enumerable.Range(-3, Math.Max(0, (int)Math.Floor((times[^1] - stoppedAt).TotalSeconds) + 3))
            .Select(s => (Second: s, Answers: times.Count(t => t >= stoppedAt + TimeSpan.FromSeconds(s) && t < stoppedAt + TimeSpan.FromSeconds(s + 1)))).ToList();
        var dip = seconds.Where(s => s.Second >= 0 && s.Answers < 0.8 * rateBefore).Select(s => (int?)s.Second).FirstOrDefault();
        var back = seconds.Where(s => s.Second > (dip ?? -1) && s.Answers >= 0.8 * rateBefore).Select(s => (int?)s.Second).FirstOrDefault();
        var from = stoppedAt + TimeSpan.FromSeconds(back ?? 0);
        var rateAfter = after.Count(t => t >= from) / Math.Max(0.001, (times[^1] - from).TotalSeconds);
        var timeline = string.Join(", ", seconds.Select(s => FormattableString.Invariant($"{s.Second:+0;-0;0} s: {s.Answers}")));
        report.Section("Scale-out: losing the node that leads the input queue",
            "| measure | value |\n| --- | --- |\n" +
            FormattableString.Invariant($"| requests | {messages}, 3 workers, quorum queues, stopped at {messages / 3} answered |\n") +
            FormattableString.Invariant($"| node stopped | {leader} (`rabbitmqctl stop_app`, took {stopTook.TotalSeconds:0.0} s) |\n") +
            FormattableString.Invariant($"| answered | {load.Answers.Count} of {messages}, {load.Rejections.Count} rejected; {load.Resends} sent again after no answer |\n") +
            FormattableString.Invariant($"| longest pause between answers after the stop | {longest.Gap.TotalSeconds:0.00} s, starting {(longest.At - stoppedAt).TotalSeconds:0.0} s after the stop |\n") +
            FormattableString.Invariant($"| rate before the stop | {rateBefore:0.0} answers/s |\n") +
            FormattableString.Invariant($"| back to speed: first second at ≥ 80% of that rate after the dip | {(dip is null ? "no dip" : back is null ? "not within the run" : $"+{back} s")} |\n") +
            FormattableString.Invariant($"| rate from then to the end of the load | {rateAfter:0.0} answers/s (the stand-in slows as its collections grow) |\n") +
            $"| answers per second around the stop | {timeline} |\n" +
            "\nThe publisher sends each request again after 20 s without an answer, with the same requestId (answered once by the worker). " +
            "Pauses are measured between consecutive answers on the publisher's clock.");
        report.Target("Node loss: every request answered", load.Answers.Count, messages, higherIsBetter: true, "");
    }

    private static List<GenerateVocabulary> NewRequests(int count) => Enumerable.Range(0, count).Select(i => new GenerateVocabulary
    {
        RequestId = Guid.NewGuid(), VideoId = $"scale-{i}", Transcript = $"Scale-out transcript {i} {Guid.NewGuid():N}.", SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 5,
    }).ToList();

    private static async Task<WorkerSet> WorkersAsync(RabbitMqCluster cluster, FakeLlmServer llm, string queueType, int workers)
    {
        var tokens = new TestTokens();
        var configuration = new Dictionary<string, string?>(tokens.Configuration())
        {
            ["ConnectionStrings:RabbitMq"] = cluster.AmqpUri,
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = $"vocab_bench_scale_{Guid.NewGuid():N}",
            ["Worker:QueueType"] = queueType,
            ["Worker:PrefetchCount"] = PerWorkerConcurrency.ToString(CultureInfo.InvariantCulture),
            ["Worker:ConcurrentMessageLimit"] = PerWorkerConcurrency.ToString(CultureInfo.InvariantCulture),
            ["Llm:Endpoint"] = llm.Endpoint,
            ["Llm:Model"] = "bench",
            ["Llm:ApiKey"] = "bench",
            ["Llm:RetryLimit"] = "0",
            // What users run: the shipped free plan, its limits raised only so one user may send the load.
            ["Plans:RoleMap:user"] = "free",
            ["Plans:free:RequestsPerMinute"] = "1000000",
            ["Plans:free:MonthlyRequests"] = "100000000",
            ["Plans:free:MonthlyTokens"] = "100000000000",
            ["Security:RequireTls"] = "false",
            ["Serilog:MinimumLevel:Default"] = "Fatal",
            ["Serilog:MinimumLevel:Override:MassTransit"] = "Fatal",
            ["Serilog:MinimumLevel:Override:Microsoft"] = "Fatal",
        };
        foreach (var (key, value) in cluster.HostSettings())
            configuration[key] = value;
        var hosts = new List<IHost>();
        for (var i = 0; i < workers; i++)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(configuration);
            builder.AddVocabWorker();
            var host = builder.Build();
            await host.StartAsync();
            hosts.Add(host);
        }
        var apiKey = (await hosts[0].Services.GetRequiredService<ApiKeyStore>().CreateAsync("bench-scale", Roles.User, DateTime.UtcNow)).Key;
        await cluster.WaitForConsumersAsync(Queue, workers, TimeSpan.FromSeconds(60));
        return new WorkerSet(hosts, await cluster.StartPublisherAsync(), apiKey, configuration["Mongo:Database"]!);
    }

    /// <summary>The running workers of one cell and the publisher in front of them.</summary>
    private sealed record WorkerSet(List<IHost> Workers, MassTransit.IBusControl Publisher, string ApiKey, string Database) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Publisher.StopAsync();
            foreach (var worker in Workers)
            {
                await worker.StopAsync();
                worker.Dispose();
            }
            await MongoCleanup.DropDatabaseAsync(new MongoClient(ServiceAddresses.Mongo), Database);
        }
    }
}
