using System.Diagnostics;
using System.Globalization;
using MassTransit;
using MongoDB.Driver;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests.Cluster;

/// <summary>
/// One cluster scenario's moving parts: worker processes competing on the input queue, a publisher that knows every node,
/// optionally the HTTP bridge, and one caller's API key.
/// </summary>
public sealed class ClusterRun : IAsyncDisposable
{
    public const int ConcurrentMessageLimit = 16;
    private const string Queue = "generate-vocabulary";
    private readonly ClusterFixture _fixture;
    private readonly IBusControl _publisher;

    private ClusterRun(ClusterFixture fixture, IReadOnlyList<WorkerProcess> workers, IBusControl publisher, BridgeHost? bridge, string apiKey, string bridgeApiKey)
    {
        _fixture = fixture;
        Workers = workers;
        _publisher = publisher;
        Bridge = bridge;
        Bus = new RequestLoad(publisher, apiKey, Clock);
        Http = bridge is null ? null : new BridgeLoad(bridge.Client, bridgeApiKey, Clock);
    }

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>Each run has a database of its own: the MongoDB stand-in slows with every document a collection holds.</summary>
    public required string DatabaseName { get; init; }

    public IMongoCollection<VocabularyDocument> Vocabularies =>
        new MongoClient(ServiceAddresses.Mongo).GetDatabase(DatabaseName).GetCollection<VocabularyDocument>(VocabularyStore.CollectionName);

    public IReadOnlyList<WorkerProcess> Workers { get; }

    public BridgeHost? Bridge { get; }

    public RequestLoad Bus { get; }

    public BridgeLoad? Http { get; }

    /// <summary>
    /// Starts the worker processes (and the bridge) and waits until all consume. The bus load sends as
    /// <paramref name="user"/>, the bridge load as <c>&lt;user&gt;-http</c>.
    /// </summary>
    public static async Task<ClusterRun> StartAsync(ClusterFixture fixture, string user, bool withBridge = false, int workers = 3)
    {
        await fixture.Cluster.PurgeFailureQueuesAsync();
        var databaseName = $"vocab_cluster_{Guid.NewGuid():N}";
        var configuration = fixture.WorkerConfiguration(databaseName);
        configuration["Worker:ConcurrentMessageLimit"] = ConcurrentMessageLimit.ToString(CultureInfo.InvariantCulture);
        var processes = Enumerable.Range(0, workers).Select(_ => WorkerProcess.Start(configuration)).ToList();
        try
        {
            var apiKey = await CreateKeyAsync(configuration, user);
            var bridgeApiKey = await CreateKeyAsync(configuration, user + "-http");
            BridgeHost? bridge = null;
            if (withBridge)
            {
                var bridgeConfiguration = new Dictionary<string, string?>(configuration)
                {
                    ["Bridge:RequestTimeout"] = "00:00:20", ["Bridge:PermitsPerMinute"] = "100000", ["Serilog:MinimumLevel:Default"] = "Warning",
                };
                bridge = await BridgeHost.StartAsync(bridgeConfiguration);
                await bridge.WaitUntilReadyAsync();
            }
            var publisher = await fixture.Cluster.StartPublisherAsync();
            var run = new ClusterRun(fixture, processes, publisher, bridge, apiKey, bridgeApiKey) { DatabaseName = databaseName };
            await fixture.Cluster.WaitForConsumersAsync(Queue, workers, TimeSpan.FromSeconds(90));
            return run;
        }
        catch
        {
            foreach (var process in processes)
                process.Dispose();
            throw;
        }
    }

    /// <summary>The queues and the end of each worker's output, for a failing test's message.</summary>
    public async Task<string> DescribeAsync()
    {
        var workers = Workers.Select((w, i) => $"--- worker {i} (pid {w.Id}{(w.HasExited ? ", exited" : "")}), warnings and errors:{Environment.NewLine}{w.Complaints}{Environment.NewLine}--- last lines:{Environment.NewLine}{string.Join(Environment.NewLine, w.Tail.Split(Environment.NewLine).TakeLast(15))}");
        return $"queues: {await _fixture.Cluster.DescribeQueuesAsync()}{Environment.NewLine}{string.Join(Environment.NewLine, workers)}";
    }

    public async ValueTask DisposeAsync()
    {
        await _publisher.StopAsync();
        if (Bridge is not null)
            await Bridge.DisposeAsync();
        foreach (var worker in Workers)
            worker.Dispose();
        await MongoCleanup.DropDatabaseAsync(new MongoClient(ServiceAddresses.Mongo), DatabaseName);
    }

    /// <summary>Creates the key the way vocabctl does, straight into the store (a worker composition, never started).</summary>
    private static async Task<string> CreateKeyAsync(IDictionary<string, string?> configuration, string user)
    {
        using var host = WorkerFixture.BuildWorker(configuration);
        return (await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync(user, Roles.User, DateTime.UtcNow)).Key;
    }
}
