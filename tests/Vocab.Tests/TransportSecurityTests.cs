using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Vocab.Contracts;
using Vocab.HttpBridge.Extensions;
using Vocab.Security;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>Credentials travel over AMQPS and HTTPS with certificates checked, and plaintext is refused when required.</summary>
public sealed class TransportSecurityTests(TlsFixture fixture) : IClassFixture<TlsFixture>
{
    [Fact]
    public async Task Request_OverHttpsToTheBridge_ReachesTheWorkerOverAmqps()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("tls-user");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/videos/tls-video/vocabulary")
        {
            Content = JsonContent.Create(new { transcript = "Secure words travel well.", sourceLanguage = "en", targetLanguage = "ko", maxItems = 3 }),
        };
        request.Headers.Add(VocabHeaders.ApiKey, key);

        using var response = await fixture.Bridge.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("https://", fixture.Bridge.Client.BaseAddress!.ToString(), StringComparison.Ordinal);
        Assert.Contains("max-age=31536000", response.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);
        Assert.Equal("tls-user", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("userId").GetString());
        // The worker's and the bridge's bus connections to this virtual host are both TLS.
        Assert.True(await CountTlsConnectionsAsync() >= 2, "expected the worker and the bridge on the AMQPS listener");
    }

    [Fact]
    public async Task Client_WithoutTheLocalCa_CannotTalkToTheBridge()
    {
        using var client = new HttpClient { BaseAddress = fixture.Bridge.Client.BaseAddress };

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/health/live"));

        Assert.IsType<System.Security.Authentication.AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task Vocabctl_WithAClientCertificate_ConnectsOverAmqps()
    {
        var result = await VocabCtlRunner.RunWithAsync(WithSettings(new()
        {
            ["RabbitMq:ClientCertificatePath"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "client.pem"),
            ["RabbitMq:ClientKeyPath"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "client.key"),
        }), "dlq", "ingest");

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Vocabctl_TrustingAnotherCa_FailsNamingTheSetting()
    {
        var result = await VocabCtlRunner.RunWithAsync(WithSettings(new() { ["RabbitMq:CaCertificatePath"] = AnotherCa() }), "dlq", "ingest");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("RabbitMq:CaCertificatePath", result.Error, StringComparison.Ordinal);
        Assert.Contains("not issued by the CA", result.Error, StringComparison.Ordinal);
    }

    // Every address MassTransit connects to over TLS gets our CA check, not MassTransit's default: amqps://, its own
    // rabbitmqs://, and a plaintext scheme on the AMQPS port (which MassTransit would otherwise turn to TLS by itself).
    [Theory]
    [InlineData("amqps", 0)]
    [InlineData("rabbitmqs", 0)]
    [InlineData("amqp", 5671)]
    [InlineData("rabbitmq", 5671)]
    public async Task Worker_TrustingAnotherCa_LogsWhyTheBrokerWasRefused(string scheme, int port)
    {
        var logs = new CapturedLogs();
        var configuration = fixture.WorkerConfiguration();
        configuration["ConnectionStrings:RabbitMq"] = Address(scheme, port);
        configuration["RabbitMq:CaCertificatePath"] = AnotherCa();
        using var host = WorkerFixture.BuildWorker(configuration, logs);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var starting = host.StartAsync(cancel.Token);
        while (!cancel.IsCancellationRequested && !logs.Lines.Any(l => l.Contains("RabbitMq:CaCertificatePath", StringComparison.Ordinal)))
            await Task.Delay(100);
        await cancel.CancelAsync();
        await Task.WhenAny(starting, Task.Delay(TimeSpan.FromSeconds(30)));

        Assert.Contains(logs.Lines, l => l.Contains("refused over TLS", StringComparison.Ordinal) && l.Contains("not issued by the CA in RabbitMq:CaCertificatePath", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("rabbitmqs", 0)]
    [InlineData("amqp", 5671)]
    public async Task Worker_OnEveryTlsAddressForm_StartsWithTheLocalCa(string scheme, int port)
    {
        var configuration = fixture.WorkerConfiguration();
        configuration["ConnectionStrings:RabbitMq"] = Address(scheme, port);
        using var host = WorkerFixture.BuildWorker(configuration);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // The host waits for its bus: it starts only once the broker accepted the connection and the CA check passed.
        await host.StartAsync(cancel.Token);
        await host.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("rabbitmqs", 0)]
    [InlineData("amqp", 5671)]
    public async Task Vocabctl_OnEveryTlsAddressForm_ChecksTheCa(string scheme, int port)
    {
        var trusted = await VocabCtlRunner.RunWithAsync(WithSettings(new() { ["ConnectionStrings:RabbitMq"] = Address(scheme, port) }), "dlq", "ingest");
        var other = await VocabCtlRunner.RunWithAsync(WithSettings(new()
        {
            ["ConnectionStrings:RabbitMq"] = Address(scheme, port),
            ["RabbitMq:CaCertificatePath"] = AnotherCa(),
        }), "dlq", "ingest");

        Assert.True(trusted.ExitCode == 0, trusted.ToString());
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("RabbitMq:CaCertificatePath", other.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rabbitmq", 5672, "uses rabbitmq://")]
    [InlineData("amqp", 5671, "uses amqp://")]
    public void RequireTls_WithPlaintextScheme_StopsTheWorkerNamingTheSetting(string scheme, int port, string why)
    {
        var configuration = fixture.WorkerConfiguration();
        configuration["ConnectionStrings:RabbitMq"] = Address(scheme, port);
        configuration["ConnectionStrings:Mongo"] = "mongodb://db.example:27017/?tls=true";
        configuration["Llm:Endpoint"] = "https://llm.example/v1";
        configuration["Security:RequireTls"] = "true";
        using var host = WorkerFixture.BuildWorker(configuration);

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value);

        Assert.Contains($"ConnectionStrings:RabbitMq {why}", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The fixture's AMQPS address (localhost, as the broker's certificate names it) in another form.</summary>
    private string Address(string scheme, int port) =>
        new UriBuilder(fixture.AmqpsUri) { Scheme = scheme, Port = port == 0 ? -1 : port }.Uri.ToString();

    [Fact]
    public void RequireTls_WithPlaintextAddresses_StopsTheWorkerNamingEachSetting()
    {
        var configuration = fixture.WorkerConfiguration();
        configuration["ConnectionStrings:RabbitMq"] = fixture.VirtualHost.AmqpUri.ToString();
        configuration["Security:RequireTls"] = "true";
        using var host = WorkerFixture.BuildWorker(configuration);

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value);

        Assert.Contains("ConnectionStrings:RabbitMq uses amqp://", error.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:Mongo is a MongoDB address without tls=true", error.Message, StringComparison.Ordinal);
        Assert.Contains("Llm:Endpoint uses http://", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RequireTls_WithTlsEverywhere_Passes()
    {
        var configuration = fixture.WorkerConfiguration();
        configuration["Security:RequireTls"] = "true";
        configuration["ConnectionStrings:Mongo"] = "mongodb://db.example:27017/?tls=true";
        configuration["Llm:Endpoint"] = "https://llm.example/v1";
        using var host = WorkerFixture.BuildWorker(configuration);

        Assert.True(host.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value.RequireTls);
    }

    [Fact]
    public void RequireTls_WithAPlaintextLlmEndpointAllowed_PassesForItAlone()
    {
        // A local model server on a private network (Ollama in docker compose): its http:// address alone is accepted.
        var configuration = fixture.WorkerConfiguration();
        configuration["Security:RequireTls"] = "true";
        configuration["ConnectionStrings:Mongo"] = "mongodb://db.example:27017/?tls=true";
        configuration["Llm:Endpoint"] = "http://ollama:11434/v1";
        configuration["Llm:AllowPlaintextEndpoint"] = "true";
        using (var allowed = WorkerFixture.BuildWorker(configuration))
            Assert.True(allowed.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value.RequireTls);

        configuration["ConnectionStrings:RabbitMq"] = fixture.VirtualHost.AmqpUri.ToString();
        using var plaintextBroker = WorkerFixture.BuildWorker(configuration);
        var error = Assert.Throws<OptionsValidationException>(() => plaintextBroker.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value);
        Assert.Contains("ConnectionStrings:RabbitMq uses amqp://", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Llm:Endpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequireTls_OnTheBridgeServingHttp_StopsItNamingTheSetting()
    {
        var configuration = fixture.WorkerConfiguration();
        configuration["Security:RequireTls"] = "true";
        configuration["ConnectionStrings:Mongo"] = "mongodb://db.example:27017/?tls=true";
        configuration["urls"] = "http://127.0.0.1:0";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = Path.GetTempPath() });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddVocabBridge();
        await using var app = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<TransportSecurityOptions>>().Value);

        Assert.Contains("urls is 'http://127.0.0.1:0'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequireTls_InVocabctlWithAmqp_RefusesBeforeConnecting()
    {
        var result = await VocabCtlRunner.RunWithAsync(WithSettings(new()
        {
            ["Security:RequireTls"] = "true",
            ["ConnectionStrings:RabbitMq"] = fixture.VirtualHost.AmqpUri.ToString(),
        }), "dlq", "ingest");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ConnectionStrings:RabbitMq uses amqp://", result.Error, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> WithSettings(Dictionary<string, string?> settings)
    {
        var configuration = fixture.WorkerConfiguration();
        foreach (var (key, value) in settings)
            configuration[key] = value;
        return configuration;
    }

    private static string AnotherCa()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Some other CA", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(Path.GetTempPath(), $"other-ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, authority.ExportCertificatePem());
        return path;
    }

    private async Task<int> CountTlsConnectionsAsync()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var connections = JsonDocument.Parse(await fixture.VirtualHost.Management.GetStringAsync($"api/vhosts/{Uri.EscapeDataString(fixture.VirtualHost.Name)}/connections"));
            var tls = connections.RootElement.EnumerateArray().Count(c => c.TryGetProperty("ssl", out var ssl) && ssl.GetBoolean());
            if (tls >= 2)
                return tls;
            await Task.Delay(200);
        }
        return 0;
    }
}
