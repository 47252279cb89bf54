using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MongoDB.Driver;
using MongoDB.Driver.Core.Events;
using Vocab.Authentication;
using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>
/// The shared authentication code (what the worker's filter and the bridge call) on a real MongoDB database of its own,
/// with every MongoDB command it sends recorded by name and collection.
/// </summary>
public sealed class AuthenticationOnlyHost(IHost host, string databaseName, TestTokens tokens, ConcurrentQueue<(string Command, string Collection)> commands)
    : IAsyncDisposable
{
    public IHost Host { get; } = host;

    public TestTokens Tokens { get; } = tokens;

    public CredentialValidator Validator => Host.Services.GetRequiredService<CredentialValidator>();

    public T Get<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    public int CommandCount(string command, string collection) => commands.Count(c => c.Command == command && c.Collection == collection);

    /// <summary>Starts the host; <paramref name="configure"/> may add configuration sources after the defaults (environment variables, say).</summary>
    public static async Task<AuthenticationOnlyHost> StartAsync(IDictionary<string, string?>? settings = null, Action<IConfigurationBuilder>? configure = null,
        CapturedLogs? logs = null)
    {
        var databaseName = $"vocab_auth_{Guid.NewGuid():N}";
        var tokens = new TestTokens();
        var configuration = new Dictionary<string, string?>(tokens.Configuration())
        {
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = databaseName,
            ["Authentication:LastUsedFlushInterval"] = "01:00:00",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            configuration[key] = value;

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        configure?.Invoke(builder.Configuration);
        var commands = new ConcurrentQueue<(string, string)>();
        builder.Services.AddSingleton<IMongoClient>(_ =>
        {
            var mongo = MongoClientSettings.FromConnectionString(ServiceAddresses.Mongo);
            mongo.ClusterConfigurator = cluster => cluster.Subscribe<CommandStartedEvent>(e =>
                commands.Enqueue((e.CommandName, e.Command.TryGetValue(e.CommandName, out var target) && target.IsString ? target.AsString : "")));
            return new MongoClient(mongo);
        });
        builder.AddVocabAuthentication();
        if (logs is not null)
            builder.Logging.AddProvider(logs);
        var host = builder.Build();
        await host.StartAsync();
        return new AuthenticationOnlyHost(host, databaseName, tokens, commands);
    }

    public async ValueTask DisposeAsync()
    {
        await MongoCleanup.DropDatabaseAsync(Host.Services.GetRequiredService<IMongoClient>(), databaseName);
        await Host.StopAsync();
        Host.Dispose();
    }
}
