using Microsoft.Extensions.Options;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.Ops;

/// <summary>The ops console refuses to start on an unusable setting, naming it.</summary>
public sealed class OpsStartupTests
{
    private static Dictionary<string, string?> Settings()
    {
        var configuration = new Dictionary<string, string?>(new TestTokens().Configuration())
        {
            ["ConnectionStrings:RabbitMq"] = ServiceAddresses.RabbitMq.ToString(),
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = $"vocab_test_{Guid.NewGuid():N}",
            ["Security:RequireTls"] = "false",
            ["Ops:ManagementUri"] = "http://127.0.0.1:15672/",
            ["Ops:ManagementUser"] = "guest",
            ["Ops:ManagementPassword"] = "guest",
            // A queue no test uses: the console must not consume anyone's dead letters while it fails to start.
            ["Ops:QueueName"] = $"ops-startup-{Guid.NewGuid():N}",
            ["Kestrel:Certificates:Default:Path"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.pem"),
            ["Kestrel:Certificates:Default:KeyPath"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.key"),
        };
        return configuration;
    }

    [Theory]
    [InlineData("Ops:ManagementUri", "", "Ops:ManagementUri")]
    [InlineData("Ops:ManagementPassword", "", "Ops:ManagementPassword")]
    [InlineData("Ops:ReplaysPerSecond", "0", "Ops:ReplaysPerSecond")]
    [InlineData("Ops:FailureRetention", "00:00:10", "Ops:FailureRetention")]
    [InlineData("Ops:SessionLifetime", "3.00:00:00", "Ops:SessionLifetime")]
    [InlineData("DeadLetter:SigningKey", "short", "DeadLetter:SigningKey")]
    public async Task UnusableSetting_StopsTheConsoleAtStart_NamingIt(string setting, string value, string named)
    {
        var configuration = Settings();
        configuration[setting] = value;

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () => await (await OpsHost.StartAsync(configuration)).DisposeAsync());

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlainHttp_IsRefused_WhenTlsIsRequired()
    {
        var configuration = Settings();
        configuration["Security:RequireTls"] = "true";
        configuration["ConnectionStrings:RabbitMq"] = "amqps://guest:guest@localhost:5671/";
        configuration["ConnectionStrings:Mongo"] = "mongodb://127.0.0.1:27018/?tls=true";

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () => await (await OpsHost.StartAsync(configuration)).DisposeAsync());

        Assert.Contains("Ops:ManagementUri", failure.Message, StringComparison.Ordinal);
    }
}
