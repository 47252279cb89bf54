using System.Collections;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// The README's first run, executed exactly as written (read from README.md now): its run command starts the real
/// worker and bridge through scripts/run.sh, then the "First run" section's shell fences create a key with vocabctl and
/// call the bridge with curl. The only thing the test adds is what the README tells a newcomer to set: the LLM, through
/// Llm__Endpoint / Llm__Model / Llm__ApiKey (here the test's local endpoint).
/// </summary>
/// <remarks>
/// Runs alone (it builds the solution, as scripts/run.sh does) and holds a machine-wide lock, because the README's bridge
/// address is 127.0.0.1:8080 and only one first run can own it.
/// </remarks>
[Collection(HeavyLoadCollection.Name)]
[Trait("Category", "FirstRun")]
public sealed partial class ReadmeFirstRunTests
{
    private const int BridgePort = 8080;
    private const string Model = "first-run-model";
    private static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(20);

    [Fact]
    public async Task FirstRun_AsWritten_AnswersWithVocabulary()
    {
        var readme = await File.ReadAllTextAsync(RepositoryFiles.PathOf("README.md"));
        var runCommand = Fences(readme).First();
        Assert.StartsWith("scripts/run.sh", runCommand, StringComparison.Ordinal);
        var firstRun = FirstRunFences(readme);
        Assert.NotEmpty(firstRun);

        await using var portLock = await AcquireMachineLockAsync();
        AssertPortFree(BridgePort);
        await using var llm = await FakeLlmServer.StartAsync();
        await using var virtualHost = await RabbitMqVirtualHost.CreateAsync("vocab-first-run");
        var environment = NewcomerEnvironment(llm.Endpoint, virtualHost.AmqpUri, $"vocab_test_{Guid.NewGuid():N}");

        await using var service = ShellSession.Start(runCommand, environment);
        await WaitUntilServingAsync(service, virtualHost);

        await using var newcomer = ShellSession.Start(string.Join('\n', firstRun), environment);
        var exitCode = await newcomer.WaitAsync(TimeSpan.FromMinutes(5));

        Assert.True(exitCode == 0, $"the first run's commands exited {exitCode}:\n{newcomer.Output}\n--- scripts/run.sh:\n{service.Output}");
        var answer = JsonDocument.Parse(newcomer.StandardOutput).RootElement;
        Assert.Equal("me", answer.GetProperty("userId").GetString());
        Assert.Equal("demo", answer.GetProperty("videoId").GetString());
        Assert.Equal(3, answer.GetProperty("items").GetArrayLength());
        var call = Assert.Single(llm.Requests);
        Assert.Equal(Model, call.RootElement.GetProperty("model").GetString());
        Assert.Contains($"LLM endpoint {llm.Endpoint} (Llm:Endpoint) answered", service.Output, StringComparison.Ordinal);
        if (Environment.GetEnvironmentVariable("VOCAB_MONGO_URI") == "mongodb://127.0.0.1:27018")
            Assert.Contains("keeps nothing across a restart", service.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The test's own environment (where the services' addresses are) as a newcomer's shell would have it, with the LLM
    /// set as the README says. Nothing here configures vocabctl or the apps beyond what the README asks; the broker's
    /// virtual host and the database name only keep this run apart from other tests (scripts/run.sh and scripts/vocabctl
    /// honour settings already in the environment).
    /// </summary>
    private static Dictionary<string, string?> NewcomerEnvironment(string llmEndpoint, Uri amqp, string database)
    {
        var environment = new Dictionary<string, string?>();
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            var name = (string)variable.Key;
            if (!IsAppSetting(name))
                environment[name] = (string?)variable.Value;
        }
        environment["Llm__Endpoint"] = llmEndpoint;
        environment["Llm__Model"] = Model;
        environment["Llm__ApiKey"] = "first-run-llm-key";
        environment["ConnectionStrings__RabbitMq"] = amqp.ToString();
        environment["Mongo__Database"] = database;
        // Builds inside the test leave no build servers behind that would outlive the run's process group.
        environment["MSBUILDDISABLENODEREUSE"] = "1";
        environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        environment["UseSharedCompilation"] = "false";
        return environment;
    }

    /// <summary>Settings a fresh shell would not have: the apps' configuration and the test host's environment name.</summary>
    private static bool IsAppSetting(string name) =>
        name.Contains("__", StringComparison.Ordinal)
        || name is "DOTNET_ENVIRONMENT" or "ASPNETCORE_ENVIRONMENT" or "ASPNETCORE_URLS" or "ASPNETCORE_HTTP_PORTS";

    private static async Task WaitUntilServingAsync(ShellSession service, RabbitMqVirtualHost virtualHost)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var limit = new CancellationTokenSource(StartLimit);
        while (true)
        {
            if (service.HasExited)
                Assert.Fail($"scripts/run.sh exited {service.ExitCode} before serving:\n{service.Output}");
            if (limit.IsCancellationRequested)
                Assert.Fail($"scripts/run.sh was not serving within {StartLimit}:\n{service.Output}");
            if (await ReadyAsync(http) && await WorkerConsumesAsync(virtualHost))
                return;
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static async Task<bool> ReadyAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{BridgePort}/health/ready");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task<bool> WorkerConsumesAsync(RabbitMqVirtualHost virtualHost)
    {
        using var response = await virtualHost.Management.GetAsync(
            $"api/queues/{Uri.EscapeDataString(virtualHost.Name)}/{WorkerFixture.QueueName}");
        if (!response.IsSuccessStatusCode)
            return false;
        var queue = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return queue.TryGetProperty("consumers", out var consumers) && consumers.GetInt32() > 0;
    }

    private static IEnumerable<string> Fences(string markdown) =>
        BashFence().Matches(markdown).Select(m => m.Groups["code"].Value);

    /// <summary>Every shell fence of the "First run" section, in order, as one script (one shell, as a newcomer types them).</summary>
    private static List<string> FirstRunFences(string readme)
    {
        var start = readme.IndexOf("\n## First run", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no \"## First run\" section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return Fences(end < 0 ? readme[start..] : readme[start..end]).ToList();
    }

    private static void AssertPortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
        }
        catch (SocketException)
        {
            Assert.Fail($"127.0.0.1:{port} is taken (a scripts/run.sh of your own?): the README's first run serves the bridge there.");
        }
    }

    /// <summary>One first run per machine at a time, across checkouts: a lock file every run of this test takes.</summary>
    private static async Task<FileStream> AcquireMachineLockAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), "vocab-readme-first-run.lock");
        using var limit = new CancellationTokenSource(StartLimit * 2);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (!limit.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        }
    }

    [GeneratedRegex("```bash\\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashFence();
}
