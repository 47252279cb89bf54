using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using RabbitMQ.Client;
using Vocab.Authentication.ApiKeys;
using Vocab.Benchmarks.EndToEnd;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.TestSupport;
using Vocab.Messaging;

namespace Vocab.Benchmarks.Flood;

/// <summary>
/// Floods the worker (over the bus) and the bridge (over HTTP, from many loopback client addresses) with distinct junk
/// API keys and JWTs of about 2 KB, and reports how much each grew: the bound the authentication state must keep (64 MB).
/// </summary>
public static class JunkCredentialFloodRun
{
    private const double LimitMegabytes = 64;

    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-flood");
        var credentials = settings.FloodCredentials;
        var worker = await FloodWorkerAsync(environment, credentials);
        var bridge = await FloodBridgeAsync(environment, credentials, settings.FloodAddresses);

        report.Section("Junk credential flood: memory growth of the worker and the bridge",
            "| process | junk credentials | client addresses | working set growth MB | managed heap growth MB | rate /s |\n| --- | --- | --- | --- | --- | --- |\n" +
            worker.Row("worker (bus)", credentials, 1) + bridge.Row("bridge (HTTP)", credentials, settings.FloodAddresses) +
            "\nHalf the credentials are well-formed unknown API keys (each a MongoDB lookup unless throttled), half JWTs of about " +
            "2 KB signed with unknown keys. Growth is measured in this one process around each phase, after a full GC and after " +
            "the bridge phase's HTTP clients are disposed; the worker phase includes its own publisher. The bridge throttles failed authentication per address before any lookup.");
        report.Target("Worker growth under the junk-credential flood", worker.WorkingSetMb, LimitMegabytes, higherIsBetter: false, " MB");
        report.Target("Bridge growth under the junk-credential flood from many addresses", bridge.WorkingSetMb, LimitMegabytes, higherIsBetter: false, " MB");
    }

    private sealed record Growth(double WorkingSetMb, double ManagedMb, double PerSecond)
    {
        public string Row(string name, int count, int addresses) => string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {count} | {addresses} | {WorkingSetMb:0.0} | {ManagedMb:0.0} | {PerSecond:0} |\n");
    }

    private static async Task<Growth> FloodWorkerAsync(BenchEnvironment environment, int count)
    {
        using var worker = await environment.StartWorkerAsync(authenticate: true);
        var (workingSet, managed) = Measure();
        var watch = Stopwatch.StartNew();
        var factory = new ConnectionFactory { Uri = environment.VirtualHost.AmqpUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true, outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(256)));
        var body = Encoding.UTF8.GetBytes("""{"requestId":"00000000-0000-0000-0000-000000000001","videoId":"flood","transcript":"x","sourceLanguage":"en","targetLanguage":"ko","maxItems":1}""");
        var publishes = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            var headers = new Dictionary<string, object?> { [i % 2 == 0 ? VocabHeaders.ApiKey : VocabHeaders.Authorization] = JunkCredential(environment, i) };
            publishes.Add(channel.BasicPublishAsync("", QueueNames.DefaultInput, false, new BasicProperties { Headers = headers, ContentType = "application/json" }, body).AsTask());
            if (publishes.Count >= 512)
            {
                await Task.WhenAll(publishes);
                publishes.Clear();
            }
        }
        await Task.WhenAll(publishes);
        // Done when the worker has refused them all: the refusals queue keeps the newest 10,000 (DeadLetter:RefusedQueueMaxLength).
        while ((await channel.QueueDeclarePassiveAsync(QueueNames.Refused(QueueNames.DefaultInput))).MessageCount < Math.Min(count, 10_000) ||
               (await channel.QueueDeclarePassiveAsync(QueueNames.DefaultInput)).MessageCount > 0)
            await Task.Delay(250);
        var seconds = watch.Elapsed.TotalSeconds;
        await channel.QueuePurgeAsync(QueueNames.Refused(QueueNames.DefaultInput));
        var (workingSetAfter, managedAfter) = Measure();
        await worker.StopAsync();
        return new Growth(Mb(workingSetAfter - workingSet), Mb(managedAfter - managed), count / seconds);
    }

    private static async Task<Growth> FloodBridgeAsync(BenchEnvironment environment, int count, int addresses)
    {
        var configuration = environment.Configuration();
        await using var bridge = await BridgeHost.StartAsync(configuration);
        var clients = Enumerable.Range(0, addresses).Select(i => ClientFrom(bridge, new IPAddress([127, 1, (byte)(i / 250), (byte)(i % 250 + 1)]))).ToList();
        var (workingSet, managed) = Measure();
        var watch = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/vocabularies");
                request.Headers.TryAddWithoutValidation(i % 2 == 0 ? VocabHeaders.ApiKey : VocabHeaders.Authorization, JunkCredential(environment, i));
                using var response = await clients[i % clients.Count].SendAsync(request);
            }
        }));
        var seconds = watch.Elapsed.TotalSeconds;
        // The clients live in this process too: only what the bridge keeps may be counted.
        foreach (var client in clients)
            client.Dispose();
        var (workingSetAfter, managedAfter) = Measure();
        return new Growth(Mb(workingSetAfter - workingSet), Mb(managedAfter - managed), count / seconds);
    }

    private static string JunkCredential(BenchEnvironment environment, int i) => i % 2 == 0
        ? ApiKeyFormat.Generate().Key
        : "Bearer " + environment.Tokens.Hs256($"junk-{i}-{new string('x', 1_800)}", secret: Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));

    private static (long WorkingSet, long Managed) Measure()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return (process.WorkingSet64, GC.GetTotalMemory(forceFullCollection: true));
    }

    private static double Mb(long bytes) => bytes / (1024.0 * 1024);

    private static HttpClient ClientFrom(BridgeHost bridge, IPAddress local) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(local, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    }) { BaseAddress = bridge.Client.BaseAddress };
}
