using System.Diagnostics;
using System.Globalization;
using System.Text;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Vocab.Benchmarks.EndToEnd;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.Transport;

/// <summary>
/// The same API-key pipeline over plain AMQP and over AMQPS (worker and publisher both), in one run with the order
/// shuffled per round: messages per second, and this process's CPU time per message (worker and publisher side; the
/// broker's TLS cost is not in it).
/// </summary>
public static class TransportThroughputRun
{
    private sealed record RunResult(double MessagesPerSecond, double CpuMicrosecondsPerMessage);

    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-tls");
        environment.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var results = new Dictionary<bool, List<RunResult>> { [false] = [], [true] = [] };
        var random = new Random(7);
        await RunOnceAsync(environment, tls: false, Math.Min(200, settings.Messages));
        await RunOnceAsync(environment, tls: true, Math.Min(200, settings.Messages));
        for (var round = 0; round < settings.Rounds; round++)
        {
            foreach (var tls in random.Next(2) == 0 ? new[] { false, true } : [true, false])
            {
                var result = await RunOnceAsync(environment, tls, settings.Messages);
                results[tls].Add(result);
                Console.WriteLine($"transport round {round + 1} tls={tls}: {result.MessagesPerSecond:0} msg/s, {result.CpuMicrosecondsPerMessage:0} µs CPU/msg");
            }
        }

        var ratios = results[true].Zip(results[false], (t, p) => t.CpuMicrosecondsPerMessage / p.CpuMicrosecondsPerMessage).ToList();
        var table = new StringBuilder("| transport | msg/s | CPU µs per message (worker + publisher process) |\n| --- | --- | --- |\n");
        foreach (var (tls, runs) in results)
        {
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {(tls ? "AMQPS (TLS, certificate checked against the local CA)" : "AMQP (plaintext)")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.MessagesPerSecond)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.CpuMicrosecondsPerMessage)), "0")} |");
        }
        var ratio = Distribution.OfRuns(ratios);
        report.Section("Transport: AMQPS versus plain AMQP",
            table + $"\nMedian (min–max) of {settings.Rounds} rounds of {settings.Messages} API-key messages, the two transports in shuffled order " +
                    $"within each round. CPU per message is this process's user + system time over the run divided by the messages: the " +
                    $"worker's and the publisher's share of TLS, not the broker's. Per-round CPU ratio AMQPS ÷ AMQP: {Distribution.Format(ratio, "0.00")}.");
    }

    private static async Task<RunResult> RunOnceAsync(BenchEnvironment environment, bool tls, int messages)
    {
        environment.UseFreshDatabase();
        var address = tls
            ? new UriBuilder(ServiceAddresses.RabbitMqTls) { Path = "/" + Uri.EscapeDataString(environment.VirtualHost.Name) }.Uri
            : environment.VirtualHost.AmqpUri;
        var ca = Path.Combine(ServiceAddresses.CertificatesDirectory, "ca.pem");
        environment.Overrides["ConnectionStrings:RabbitMq"] = address.ToString();
        environment.Overrides["RabbitMq:CaCertificatePath"] = ca;
        using var worker = await environment.StartWorkerAsync(authenticate: true);
        var apiKey = await environment.CreateApiKeyAsync(worker.Services, "bench-user");

        var results = new ResultCounter(messages);
        var publisher = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.VocabHost(address, new RabbitMqConnectionOptions { CaCertificatePath = ca }, NullLogger.Instance);
            results.Listen(rabbit, "bench-tls-results");
        });
        await publisher.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        var endpoint = await publisher.GetSendEndpoint(new Uri("queue:generate-vocabulary"));

        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        using var inFlight = new SemaphoreSlim(256);
        await Task.WhenAll(Enumerable.Range(0, messages).Select(async i =>
        {
            await inFlight.WaitAsync();
            try
            {
                await endpoint.Send(new GenerateVocabulary
                {
                    RequestId = Guid.NewGuid(), VideoId = $"tls-{i}", Transcript = "A short transcript for the benchmark.",
                    SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 5,
                }, context => context.UseApiKey(apiKey));
            }
            finally
            {
                inFlight.Release();
            }
        }));
        await results.Done.WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        await publisher.StopAsync();
        await worker.StopAsync();
        environment.Overrides.Clear();
        return new RunResult(messages / elapsed, cpu.TotalMilliseconds * 1000 / messages);
    }
}
