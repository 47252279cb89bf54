using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Vocab.HttpBridge.Extensions;


namespace Vocab.TestSupport;

/// <summary>The real HTTP bridge (the production composition) on a loopback port, with a client for it.</summary>
public sealed class BridgeHost : IAsyncDisposable
{
    private BridgeHost(WebApplication app, HttpClient client, CapturedLogs logs)
    {
        App = app;
        Client = client;
        Logs = logs;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public CapturedLogs Logs { get; }

    /// <summary>Starts the bridge; <paramref name="configure"/> runs after the production registrations (the benchmark swaps authentication there).</summary>
    public static async Task<BridgeHost> StartAsync(IDictionary<string, string?> configuration, Action<WebApplicationBuilder>? configure = null,
        string url = "http://127.0.0.1:0", HttpMessageHandler? clientHandler = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = Path.GetTempPath() });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls(url);
        var logs = new CapturedLogs();
        builder.AddVocabBridge();
        builder.Logging.AddProvider(logs);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseVocabBridge();
        await app.StartAsync();
        var client = new HttpClient(clientHandler ?? new SocketsHttpHandler()) { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
        return new BridgeHost(app, client, logs);
    }

    /// <summary>
    /// Waits until /health/ready answers 200: the bridge starts before its bus is connected and answers 503 meanwhile,
    /// which on a loaded machine can last past a test's first request.
    /// </summary>
    public async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await Client.GetAsync("/health/ready")).StatusCode != System.Net.HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("the bridge did not become ready in 60 s");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        // Bounded: a bus whose broker node is away may not honour the host's shutdown timeout, and a test must not hang on it.
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await App.StopAsync(stop.Token).WaitAsync(TimeSpan.FromSeconds(60));
        await App.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
    }
}
