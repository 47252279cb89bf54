using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>A cached JWT check never outlives the token: expiry is re-checked on every use, revocation looked up within the bound.</summary>
public sealed class JwtValidationCacheTests : IAsyncLifetime
{
    private readonly TestTokens _tokens = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private IHost _host = null!;

    public Task InitializeAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var configuration = _tokens.Configuration();
        configuration["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo;
        configuration["Mongo:Database"] = _database;
        configuration["Authentication:CacheDuration"] = "00:01:00";
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.AddVocabAuthentication();
        _host = builder.Build();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task CachedToken_PastItsExpiry_IsRefusedAsExpired()
    {
        var validator = _host.Services.GetRequiredService<CredentialValidator>();
        var token = PresentedCredential.FromHeaders(null, $"Bearer {_tokens.Hs256("cache-user", expires: DateTime.UtcNow.AddMinutes(2))}");

        Assert.True((await validator.ValidateAsync(token, default)).Succeeded);
        _time.Advance(TimeSpan.FromMinutes(3));

        var later = await validator.ValidateAsync(token, default);
        Assert.False(later.Succeeded);
        Assert.Equal(RejectionReasons.ExpiredCredentials, later.FailureReason);
    }

    public async Task DisposeAsync()
    {
        await MongoCleanup.DropDatabaseAsync(_host.Services.GetRequiredService<IMongoClient>(), _database);
        _host.Dispose();
    }
}
