using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Hosting;
using MongoDB.Driver;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests.Cluster;

/// <summary>
/// The three-node RabbitMQ cluster of <c>scripts/services.sh cluster up</c> (addresses in .services/cluster.env), a
/// virtual host of its own on it, quorum queues, and MongoDB and a local LLM endpoint as elsewhere.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public string VirtualHost { get; } = $"vocab-cluster-{Guid.NewGuid():N}";

    public string DatabaseName { get; } = $"vocab_cluster_{Guid.NewGuid():N}";

    public string[] Hosts { get; } = Required("VOCAB_RABBITMQ_CLUSTER_HOSTS").Split(',');


    public FakeLlmServer Llm { get; private set; } = null!;

    public TestTokens Tokens { get; } = new();

    public CapturedLogs Logs { get; } = new();

    public async Task InitializeAsync()
    {
        Llm = await FakeLlmServer.StartAsync();
        using var management = ManagementOf(0);
        (await management.PutAsync($"api/vhosts/{VirtualHost}", null)).EnsureSuccessStatusCode();
        (await management.PutAsync($"api/permissions/{VirtualHost}/guest",
            new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
    }

    /// <summary>The worker's configuration on the cluster: every node listed, quorum queues.</summary>
    public Dictionary<string, string?> WorkerConfiguration()
    {
        var configuration = new Dictionary<string, string?>(Tokens.Configuration())
        {
            ["ConnectionStrings:RabbitMq"] = $"amqp://guest:guest@127.0.0.1:{Hosts[0].Split(':')[1]}/{VirtualHost}",
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = DatabaseName,
            ["Worker:QueueType"] = "quorum",
            ["Llm:Endpoint"] = Llm.Endpoint,
            ["Llm:Model"] = "fake-model",
            ["Llm:ApiKey"] = "llm-test-key",
            ["Llm:RetryLimit"] = "1",
            ["Llm:RetryMinInterval"] = "00:00:00.100",
            ["Llm:RetryMaxInterval"] = "00:00:00.200",
            ["Security:RequireTls"] = "false",
            ["Plans:RoleMap:user"] = "unlimited",
            ["Authentication:LastUsedFlushInterval"] = "01:00:00",
        };
        for (var i = 0; i < Hosts.Length; i++)
            configuration[$"RabbitMq:Hosts:{i}"] = Hosts[i];
        return configuration;
    }

    public async Task<IHost> StartWorkerAsync()
    {
        var host = WorkerFixture.BuildWorker(WorkerConfiguration(), Logs);
        await host.StartAsync();
        return host;
    }

    /// <summary>A publishing bus that knows every node, reading responses in order as the README advises requesters.</summary>
    public async Task<IBusControl> StartPublisherAsync()
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(WorkerConfiguration()["ConnectionStrings:RabbitMq"]!), h => h.UseCluster(c =>
            {
                foreach (var node in Hosts)
                    c.Node(node);
            }));
            rabbit.ConcurrentMessageLimit = 1;
        });
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        return bus;
    }

    /// <summary>The management API of node <paramref name="index"/> (its port is the AMQP port + 10000).</summary>
    public HttpClient ManagementOf(int index)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{int.Parse(Hosts[index].Split(':')[1]) + 10000}/"), Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
        return client;
    }

    /// <summary>The state of every queue of the virtual host, asked of the first node that answers.</summary>
    public async Task<IReadOnlyList<QueueState>> QueuesAsync()
    {
        for (var i = 0; i < Hosts.Length; i++)
        {
            try
            {
                using var management = ManagementOf(i);
                using var json = JsonDocument.Parse(await management.GetStringAsync($"api/queues/{VirtualHost}"));
                return json.RootElement.EnumerateArray().Select(QueueState.From).ToList();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // That node is down; ask another.
            }
        }
        throw new InvalidOperationException("no node's management API answered");
    }

    /// <summary>One queue's state; an undeclared queue is empty.</summary>
    public async Task<QueueState> QueueAsync(string name) =>
        (await QueuesAsync()).FirstOrDefault(q => q.Name == name) ?? new QueueState(name, 0, 0, 0, null);

    /// <summary>The queues in one line, for a failing test's message.</summary>
    public async Task<string> DescribeQueuesAsync() => string.Join("; ", (await QueuesAsync()).Select(q => q.ToString()));

    /// <summary>Stops the RabbitMQ application on a node (the Erlang node stays up, as <c>rabbitmqctl stop_app</c> does).</summary>
    public Task StopNodeAsync(string node) => RabbitMqCtlAsync(node, "stop_app");

    /// <summary>Starts it again and waits until it serves.</summary>
    public async Task StartNodeAsync(string node)
    {
        await RabbitMqCtlAsync(node, "start_app");
        await RabbitMqCtlAsync(node, "await_startup");
    }

    public IMongoCollection<VocabularyDocument> Vocabularies =>
        new MongoClient(ServiceAddresses.Mongo).GetDatabase(DatabaseName).GetCollection<VocabularyDocument>(VocabularyStore.CollectionName);

    public async Task DisposeAsync()
    {
        for (var i = 0; i < Hosts.Length; i++)
        {
            try
            {
                using var management = ManagementOf(i);
                await management.DeleteAsync($"api/vhosts/{VirtualHost}");
                break;
            }
            catch (HttpRequestException)
            {
                // Try the next node.
            }
        }
        await MongoCleanup.DropDatabaseAsync(new MongoClient(ServiceAddresses.Mongo), DatabaseName);
        await Llm.DisposeAsync();
    }

    private static async Task RabbitMqCtlAsync(string node, string command)
    {
        var start = new ProcessStartInfo("rabbitmqctl", ["-q", "-n", node, command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"rabbitmqctl -n {node} {command} exited with {process.ExitCode}: {await output} {await errors}");
    }

    private static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"{name} is not set: the cluster tests run through scripts/test-cluster.sh, which starts the cluster.");
}
