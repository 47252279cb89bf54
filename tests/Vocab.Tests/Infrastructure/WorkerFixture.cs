using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MongoDB.Driver;
using RabbitMQ.Client;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Storage;
using Vocab.Worker.Extensions;

using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>
/// A real worker host (the production composition) on its own RabbitMQ virtual host and MongoDB database, talking to a
/// local fake LLM; plus a separate MassTransit bus acting as a backend publisher, and a raw AMQP connection.
/// </summary>
public class WorkerFixture : IAsyncLifetime
{
    public const string QueueName = "generate-vocabulary";
    public const string ErrorQueueName = QueueName + "_error";
    public const string RefusedQueueName = QueueName + "_refused";

    public FakeLlmServer Llm { get; private set; } = null!;

    public RabbitMqVirtualHost VirtualHost { get; private set; } = null!;

    public TestTokens Tokens { get; } = new();

    public CapturedLogs Logs { get; } = new();

    public string DatabaseName { get; } = $"vocab_test_{Guid.NewGuid():N}";

    public string HealthFilePath { get; } = Path.Combine(Path.GetTempPath(), $"vocab-worker-healthy-{Guid.NewGuid():N}");

    public IHost Worker { get; private set; } = null!;

    public IBusControl Publisher { get; private set; } = null!;

    public IConnection Amqp { get; private set; } = null!;

    public IServiceProvider Services => Worker.Services;

    /// <summary>Extra configuration a derived fixture wants (e.g. LLM timeouts).</summary>
    protected virtual IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>();

    /// <summary>Runs once the virtual host has its definitions, before the worker starts (e.g. to add broker accounts).</summary>
    protected virtual Task PrepareVirtualHostAsync() => Task.CompletedTask;

    public virtual async Task InitializeAsync()
    {
        Llm = await FakeLlmServer.StartAsync();
        VirtualHost = await RabbitMqVirtualHost.CreateAsync("vocab-test");
        // The worker must run against the broker as deployed: its queues and dead-letter policy pre-declared.
        await VirtualHost.ImportDefinitionsAsync();
        await PrepareVirtualHostAsync();
        Worker = await StartWorkerAsync();
        Publisher = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(VirtualHost.AmqpUri);
            // A requester endpoint name: the only kind the worker answers a MassTransit request on.
            rabbit.OverrideDefaultBusEndpointQueueName(RequesterEndpoints.NewName());
            // Responses one at a time, in arrival order, as the bridge reads them.
            rabbit.ConcurrentMessageLimit = 1;
        });
        await Publisher.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Amqp = await new ConnectionFactory { Uri = VirtualHost.AmqpUri }.CreateConnectionAsync();
    }

    /// <summary>This worker's settings for a bridge in front of it: a generous timeout, and no per-user HTTP limit in the way.</summary>
    public Dictionary<string, string?> BridgeConfiguration()
    {
        var configuration = WorkerConfiguration();
        configuration["Bridge:RequestTimeout"] = "00:00:30";
        configuration["Bridge:PermitsPerMinute"] = "10000";
        return configuration;
    }

    public Dictionary<string, string?> WorkerConfiguration()
    {
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = VirtualHost.AmqpUri.ToString(),
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = DatabaseName,
            ["Llm:Endpoint"] = Llm.Endpoint,
            ["Llm:Model"] = "fake-model",
            ["Llm:ApiKey"] = "llm-test-key",
            // The local LLM answers at once: a call timing out means a starved machine, and its retry is one more call that
            // tests counting calls would see (a loaded run had 21 such). Tests of the timeout set their own.
            ["Llm:Timeout"] = "00:00:30",
            ["Llm:RetryLimit"] = "1",
            ["Llm:RetryMinInterval"] = "00:00:00.100",
            ["Llm:RetryMaxInterval"] = "00:00:00.200",
            ["Authentication:CacheDuration"] = "00:00:01",
            // Tests flush last-use times explicitly.
            ["Authentication:LastUsedFlushInterval"] = "01:00:00",
            ["Serilog:MinimumLevel:Default"] = "Information",
            ["Health:FilePath"] = HealthFilePath,
            ["Health:Interval"] = "00:00:01",
            // The MongoDB stand-in speaks no TLS; TransportSecurityTests turn this on where they mean to.
            ["Security:RequireTls"] = "false",
            // Most tests send many requests as one user: plans are tested where they mean to be (PlanTests).
            ["Plans:RoleMap:user"] = "unlimited",
        };
        foreach (var (key, value) in Tokens.Configuration())
            configuration[key] = value;
        foreach (var (key, value) in ExtraConfiguration)
            configuration[key] = value;
        return configuration;
    }

    private Task<IHost> StartWorkerAsync() => StartAnotherWorkerAsync();

    /// <summary>Another worker process's host on the same broker and database (competing consumers).</summary>
    public async Task<IHost> StartAnotherWorkerAsync(CapturedLogs? logs = null)
    {
        var host = BuildWorker(WorkerConfiguration(), logs ?? Logs);
        await host.StartAsync();
        return host;
    }

    /// <summary>
    /// Sends the settlements this fixture's worker and <paramref name="others"/> owe (each worker owes its served requests'
    /// settlements until its user's next admission, <c>Settlement:SettleWithin</c> or its stop), as their flushers would.
    /// </summary>
    public async Task SettleOwedAsync(params IHost[] others)
    {
        foreach (var services in others.Select(h => h.Services).Prepend(Services))
            await services.GetRequiredService<Vocab.Plans.QuotaLedger>().SettleDeferredAsync(DateTimeOffset.MaxValue);
    }

    /// <summary>The production worker composition on exactly this configuration, not started.</summary>
    public static IHost BuildWorker(IDictionary<string, string?> configuration, CapturedLogs? logs = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddVocabWorker();
        if (logs is not null)
            builder.Logging.AddProvider(logs);
        return builder.Build();
    }

    /// <summary>Creates an API key the way vocabctl does, straight into the store.</summary>
    public async Task<(string KeyId, string Key)> CreateApiKeyAsync(string userId, bool active = true, DateTime? expiresAt = null, string role = Roles.User)
    {
        var store = Services.GetRequiredService<ApiKeyStore>();
        var (key, stored) = await store.CreateAsync(userId, role, DateTime.UtcNow, expiresAt);
        if (!active)
            await store.RevokeAsync(stored.KeyId, DateTime.UtcNow, CancellationToken.None);
        return (stored.KeyId, key);
    }

    /// <summary>A request with a transcript of its own, so no stored result answers it (see LlmReuseTests for reuse).</summary>
    public static GenerateVocabulary NewRequest(int maxItems = 5, string? transcript = null) => new()
    {
        RequestId = Guid.NewGuid(),
        VideoId = $"video-{Guid.NewGuid():N}",
        Transcript = transcript ?? $"The quick brown fox jumps over the lazy dog. ({Guid.NewGuid():N})",
        SourceLanguage = "en",
        TargetLanguage = "ko",
        MaxItems = maxItems,
    };

    /// <summary>Sends a request through the publisher bus and waits for the worker's answer (result or rejection).</summary>
    public async Task<Response<VocabularyGenerated, GenerateVocabularyRejected>> RequestAsync(
        GenerateVocabulary request, Action<SendContext> credential, TimeSpan? timeout = null)
    {
        // The request's own timeout (also its time to live in the queue) covers a caller's longer wait.
        var wait = timeout ?? TimeSpan.FromSeconds(30);
        var client = Publisher.CreateRequestClient<GenerateVocabulary>(new Uri($"queue:{QueueName}"), RequestTimeout.After(s: Math.Max(30, (int)Math.Ceiling(wait.TotalSeconds))));
        using var cancellation = new CancellationTokenSource(wait);
        return await client.GetResponse<VocabularyGenerated, GenerateVocabularyRejected>(request,
            x => x.UseExecute(credential), cancellation.Token);
    }

    /// <summary>Sends a message without waiting; returns its message id.</summary>
    public async Task<Guid> SendAsync<T>(T message, Action<SendContext> credential) where T : class
    {
        var messageId = NewId.NextGuid();
        var endpoint = await Publisher.GetSendEndpoint(new Uri($"queue:{QueueName}"));
        await endpoint.Send(message, context =>
        {
            context.MessageId = messageId;
            credential(context);
        });
        return messageId;
    }

    public IMongoDatabase Database => Services.GetRequiredService<VocabDatabase>().Database;

    public virtual async Task DisposeAsync()
    {
        await Amqp.CloseAsync();
        await Publisher.StopAsync();
        await MongoCleanup.DropDatabaseAsync(Services.GetRequiredService<IMongoClient>(), DatabaseName);
        await Worker.StopAsync();
        Worker.Dispose();
        await VirtualHost.DisposeAsync();
        await Llm.DisposeAsync();
    }
}
