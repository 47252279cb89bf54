using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Vocab.TestSupport;
using Vocab.Worker.Extensions;

namespace Vocab.Tests.Identity;

/// <summary>An identity setting that cannot be used stops the worker or the bridge at start, naming the setting.</summary>
public sealed class IdentitySettingsTests
{
    private static Dictionary<string, string?> Base() => new()
    {
        ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/",
        ["ConnectionStrings:Mongo"] = "mongodb://127.0.0.1:1",
        ["Jwt:Issuer"] = "issuer",
        ["Jwt:Audience"] = "audience",
        ["Jwt:Keys:0:Id"] = "k1",
        ["Jwt:Keys:0:Algorithm"] = "HS256",
        ["Jwt:Keys:0:Secret"] = "a-secret-that-is-long-enough-for-hs256-0123",
        ["Llm:Endpoint"] = "http://127.0.0.1:1/v1",
        ["Llm:Model"] = "m",
        ["Llm:ApiKey"] = "k",
        ["Security:RequireTls"] = "false",
        ["DeadLetter:SigningKey"] = Vocab.TestSupport.TestTokens.DeadLetterSigningKey,
    };

    [Theory]
    [InlineData("Jwt:Authority", "http://idp.example", "Jwt:Authority must be HTTPS")]
    [InlineData("Jwt:JwksUri", "not a url", "Jwt:JwksUri must be an absolute")]
    [InlineData("Jwt:UnknownKeyRefreshInterval", "00:00:00", "Jwt:UnknownKeyRefreshInterval")]
    [InlineData("Jwt:KeyRefreshInterval", "3.00:00:00", "Jwt:KeyRefreshInterval")]
    [InlineData("Jwt:RoleClaim", " ", "Jwt:RoleClaim")]
    public async Task Worker_WithUnusableIdentitySetting_FailsAtStartNamingIt(string setting, string value, string expected)
    {
        var configuration = Base();
        configuration[setting] = value;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddVocabWorker();
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_WithAuthorityAndJwksUriBoth_FailsAtStart()
    {
        var configuration = Base();
        configuration["Jwt:Authority"] = "https://idp.example";
        configuration["Jwt:JwksUri"] = "https://idp.example/jwks";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddVocabWorker();
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token));

        Assert.Contains("Jwt:Authority and Jwt:JwksUri are exclusive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bridge_WithTrustedClientThatIsNoNetwork_FailsAtStartNamingIt()
    {
        var configuration = Base();
        configuration["Bridge:TrustedClients:0"] = "10.0.0.0/8";
        configuration["Bridge:TrustedClients:1"] = "backend.internal";

        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await (await BridgeHost.StartAsync(configuration)).DisposeAsync());

        Assert.Contains("Bridge:TrustedClients:1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bridge_WithTrustedProxyThatIsNoNetwork_FailsAtStartNamingIt()
    {
        var configuration = Base();
        configuration["Bridge:TrustedProxies:0"] = "proxy.internal";

        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await (await BridgeHost.StartAsync(configuration)).DisposeAsync());

        Assert.Contains("Bridge:TrustedProxies:0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bridge_WithClusterNodeThatIsNoHost_FailsAtStartNamingIt()
    {
        var configuration = Base();
        configuration["RabbitMq:Hosts:0"] = "amqp://node-1:5672";

        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await (await BridgeHost.StartAsync(configuration)).DisposeAsync());

        Assert.Contains("RabbitMq:Hosts:0", error.Message, StringComparison.Ordinal);
    }
}
