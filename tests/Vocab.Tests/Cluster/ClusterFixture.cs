using Vocab.TestSupport;

namespace Vocab.Tests.Cluster;

/// <summary>
/// A virtual host of its own on the three-node cluster, quorum queues, and MongoDB and a local LLM endpoint as
/// elsewhere. Each test run (<see cref="ClusterRun"/>) takes a database of its own.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public RabbitMqCluster Cluster { get; private set; } = null!;

    public FakeLlmServer Llm { get; private set; } = null!;

    public TestTokens Tokens { get; } = new();

    public async Task InitializeAsync()
    {
        Llm = await FakeLlmServer.StartAsync();
        Cluster = await RabbitMqCluster.CreateAsync("vocab-cluster");
    }

    /// <summary>The worker's configuration on the cluster: every node listed, quorum queues, this MongoDB database.</summary>
    public Dictionary<string, string?> WorkerConfiguration(string databaseName)
    {
        var configuration = new Dictionary<string, string?>(Tokens.Configuration())
        {
            ["ConnectionStrings:RabbitMq"] = Cluster.AmqpUri,
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = databaseName,
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
        foreach (var (key, value) in Cluster.HostSettings())
            configuration[key] = value;
        return configuration;
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Llm.DisposeAsync();
    }
}
