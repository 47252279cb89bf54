using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.TestSupport;

namespace Vocab.Benchmarks;

/// <summary>The production authentication services against the configured MongoDB, with one API key and JWT material.</summary>
public sealed class AuthenticationHost : IAsyncDisposable
{
    private AuthenticationHost(IHost host, string databaseName, string apiKey, string apiKeyHash)
    {
        Host = host;
        DatabaseName = databaseName;
        ApiKey = apiKey;
        ApiKeyHash = apiKeyHash;
    }

    public IHost Host { get; }

    public string DatabaseName { get; }

    public string ApiKey { get; }

    public string ApiKeyHash { get; }

    public CredentialValidator Validator => Host.Services.GetRequiredService<CredentialValidator>();

    /// <summary>Starts the services; <paramref name="cacheDuration"/> zero means every decision goes to MongoDB.</summary>
    public static async Task<AuthenticationHost> StartAsync(TestTokens tokens, TimeSpan cacheDuration, string databaseName)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var configuration = tokens.Configuration();
        configuration["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo;
        configuration["Mongo:Database"] = databaseName;
        configuration["Authentication:CacheDuration"] = cacheDuration.ToString();
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddVocabAuthentication();
        var host = builder.Build();
        await host.Services.GetRequiredService<Vocab.Storage.MongoIndexInitializer>().CreateAllAsync(CancellationToken.None);

        var key = (await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync("bench-user", Roles.User, DateTime.UtcNow)).Key;
        return new AuthenticationHost(host, databaseName, key, ApiKeyFormat.Hash(key));
    }

    public async ValueTask DisposeAsync()
    {
        Host.Dispose();
        await Task.CompletedTask;
    }
}
