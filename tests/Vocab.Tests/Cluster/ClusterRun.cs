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
    private readonly CancellationTokenSource _stopProgress = new();
    private Task _progress = Task.CompletedTask;

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
            await fixture.Cluster.SpreadQuorumQueuesAsync(Queue, TimeSpan.FromSeconds(60));
            ClusterTrace.Write($"{user}: {workers} workers consuming (pids {string.Join(", ", processes.Select(p => p.Id))})");
            run._progress = run.ReportProgressAsync(user);
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

    /// <summary>Every 15 s, how far the loads are: a run that stops answering shows where it stopped.</summary>
    private async Task ReportProgressAsync(string user)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(15), _stopProgress.Token);
                var http = Http is null ? "" : $"; bridge {Http.Final.Count} done, {Http.Retries} asked again";
                var exited = Workers.Count(w => w.HasExited);
                ClusterTrace.Write($"{user}: +{Clock.Elapsed.TotalSeconds:F0} s, bus {Bus.Answers.Count} answered, {Bus.Rejections.Count} rejected, {Bus.Resends} resent{http}; workers exited {exited}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopProgress.CancelAsync();
        await _progress;
        _stopProgress.Dispose();
        ClusterTrace.Write($"{DatabaseName}: disposing");
        // Bounded: a bus stopping while its node is away must not hold the run.
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await _publisher.StopAsync(stop.Token).WaitAsync(TimeSpan.FromSeconds(60));
        if (Bridge is not null)
            await Bridge.DisposeAsync();
        foreach (var worker in Workers)
            worker.Dispose();
        await MongoCleanup.DropDatabaseAsync(new MongoClient(ServiceAddresses.Mongo), DatabaseName);
        ClusterTrace.Write($"{DatabaseName}: disposed");
    }

    /// <summary>Creates the key the way vocabctl does, straight into the store (a worker composition, never started).</summary>
    private static async Task<string> CreateKeyAsync(IDictionary<string, string?> configuration, string user)
    {
        using var host = WorkerFixture.BuildWorker(configuration);
        return (await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync(user, Roles.User, DateTime.UtcNow)).Key;
    }
}
