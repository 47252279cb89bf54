using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.TestSupport;
using Vocab.Worker.Extensions;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>A throw-away virtual host, database and instant local LLM for one benchmark, and the worker hosts on them.</summary>
public sealed class BenchEnvironment : IAsyncDisposable
{
    private BenchEnvironment(RabbitMqVirtualHost virtualHost, FakeLlmServer llm, BenchSettings settings)
    {
        VirtualHost = virtualHost;
        Llm = llm;
        Settings = settings;
    }

    public RabbitMqVirtualHost VirtualHost { get; }

    public FakeLlmServer Llm { get; }

    public BenchSettings Settings { get; }

    public TestTokens Tokens { get; } = new();

    private readonly List<string> _databases = [];

    public string DatabaseName { get; private set; } = $"vocab_bench_{Guid.NewGuid():N}";

    /// <summary>Points the next hosts at a new, empty database.</summary>
    public void UseFreshDatabase()
    {
        _databases.Add(DatabaseName);
        DatabaseName = $"vocab_bench_{Guid.NewGuid():N}";
    }

    public static async Task<BenchEnvironment> StartAsync(BenchSettings settings, string name)
    {
        var llm = await FakeLlmServer.StartAsync();
        var virtualHost = await RabbitMqVirtualHost.CreateAsync(name);
        await virtualHost.ImportDefinitionsAsync();
        return new BenchEnvironment(virtualHost, llm, settings);
    }

    /// <summary>Settings laid over <see cref="Configuration"/> for the next hosts (e.g. the AMQPS address).</summary>
    public Dictionary<string, string?> Overrides { get; } = [];

    public Dictionary<string, string?> Configuration()
    {
        var configuration = Tokens.Configuration();
        configuration["ConnectionStrings:RabbitMq"] = VirtualHost.AmqpUri.ToString();
        configuration["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo;
        configuration["Mongo:Database"] = DatabaseName;
        configuration["Llm:Endpoint"] = Llm.Endpoint;
        configuration["Llm:Model"] = "bench";
        configuration["Llm:ApiKey"] = "bench";
        configuration["Llm:RetryLimit"] = "0";
        // Every benchmark message carries the same transcript: with reuse on, all but the first would skip the LLM and
        // measure something else than these benchmarks mean to.
        configuration["Llm:ReuseResults"] = "false";
        // What users run: the shipped free plan, rate and quota on, its limits raised only so one user may send the load.
        configuration["Plans:RoleMap:user"] = "free";
        configuration["Plans:free:RequestsPerMinute"] = "1000000";
        configuration["Plans:free:MonthlyRequests"] = "100000000";
        configuration["Plans:free:MonthlyTokens"] = "100000000000";
        configuration["Worker:PrefetchCount"] = Settings.PrefetchCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration["Worker:ConcurrentMessageLimit"] = Settings.ConcurrentMessageLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration["Bridge:PermitsPerMinute"] = "100000";
        configuration["Bridge:RequestTimeout"] = "00:01:00";
        // Console logging off: the report measures the pipeline, not the terminal (every variant pays the same otherwise,
        // but refused messages log an error each).
        configuration["Serilog:MinimumLevel:Default"] = "Fatal";
        configuration["Serilog:MinimumLevel:Override:MassTransit"] = "Fatal";
        configuration["Serilog:MinimumLevel:Override:Microsoft"] = "Fatal";
        foreach (var (key, value) in Overrides)
            configuration[key] = value;
        return configuration;
    }

    /// <summary>The production worker, or the same worker with the authentication filter replaced by a fixed caller.</summary>
    public async Task<IHost> StartWorkerAsync(bool authenticate)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(Configuration());
        if (authenticate)
            builder.AddVocabWorker();
        else
            builder.AddVocabWorkerWithoutAuthentication();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public async Task<string> CreateApiKeyAsync(IServiceProvider services, string userId)
    {
        return (await services.GetRequiredService<ApiKeyStore>().CreateAsync(userId, Roles.User, DateTime.UtcNow)).Key;
    }

    public async Task<IBusControl> StartPublisherAsync(Action<IRabbitMqBusFactoryConfigurator>? configure = null)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(VirtualHost.AmqpUri);
            // A requester endpoint name: the only kind the worker answers a MassTransit request on.
            rabbit.OverrideDefaultBusEndpointQueueName(Vocab.Contracts.RequesterEndpoints.NewName());
            configure?.Invoke(rabbit);
        });
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        return bus;
    }

    public async ValueTask DisposeAsync()
    {
        var client = new MongoClient(ServiceAddresses.Mongo);
        foreach (var database in _databases.Append(DatabaseName))
            await MongoCleanup.DropDatabaseAsync(client, database);
        await VirtualHost.DisposeAsync();
        await Llm.DisposeAsync();
    }
}
