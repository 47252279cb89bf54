using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Vocab.Worker.Extensions;

namespace Vocab.Tests;

/// <summary>A missing secret or setting stops the worker at start with a message that names it.</summary>
public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("Jwt:Keys:0:Secret", "Jwt:Keys:0:Secret")]
    [InlineData("Llm:ApiKey", "Llm:ApiKey")]
    [InlineData("ConnectionStrings:RabbitMq", "ConnectionStrings:RabbitMq")]
    [InlineData("ConnectionStrings:Mongo", "ConnectionStrings:Mongo")]
    [InlineData("DeadLetter:SigningKey", "DeadLetter:SigningKey")]
    public async Task Start_WithoutSetting_FailsNamingIt(string missing, string expectedInMessage)
    {
        var configuration = ValidConfiguration();
        configuration.Remove(missing);
        await AssertStartFailsAsync(configuration, expectedInMessage);
    }

    [Theory]
    [InlineData("Plans:free:RequestsPerMinute", "0", "Plans:free:RequestsPerMinute")]
    [InlineData("Plans:premium:MonthlyRequests", "-1", "Plans:premium:MonthlyRequests")]
    [InlineData("Plans:free:MonthlyTokens", "-5", "Plans:free:MonthlyTokens")]
    [InlineData("Plans:gold:MaxItems", "0", "Plans:gold:MaxItems")]
    [InlineData("Plans:RoleMap:user", "nonexistent", "Plans:RoleMap:user")]
    [InlineData("Plans:LedgerRetention", "00:10:00", "Plans:LedgerRetention")]
    [InlineData("Llm:ReuseScope", "everyone", "Llm:ReuseScope")]
    public async Task Start_WithInvalidPlanValue_FailsNamingIt(string setting, string value, string expectedInMessage)
    {
        var configuration = ValidConfiguration();
        configuration[setting] = value;
        await AssertStartFailsAsync(configuration, expectedInMessage);
    }

    private static async Task AssertStartFailsAsync(Dictionary<string, string?> configuration, string expectedInMessage)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddVocabWorker();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token));
        Assert.Contains(expectedInMessage, error.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> ValidConfiguration() =>
        new()
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
            ["DeadLetter:SigningKey"] = "a-dead-letter-signing-key-long-enough-0123",
        };
}
