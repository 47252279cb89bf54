using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.Cluster;

/// <summary>
/// Workers on quorum queues of a three-node cluster: a worker process killed mid-load loses no request, the others take
/// over its unacknowledged messages. Run by scripts/test-cluster.sh (CI runs it too).
/// </summary>
[Trait("Category", "Cluster")]
public sealed class ClusterTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private const string Queue = "generate-vocabulary";

    [Fact]
    public async Task KilledWorkerProcess_ItsUnacknowledgedMessagesAreProcessedByTheOthers()
    {
        const int requests = 1000;
        using var survivor = await fixture.StartWorkerAsync();
        using var victim = StartWorkerProcess();
        var key = await CreateKeyAsync(survivor.Services, "cluster-kill");
        var publisher = await fixture.StartPublisherAsync();
        try
        {
            await WaitForConsumersAsync(2);
            var sending = SendAllAsync(publisher, key, requests, "kill");
            await WaitForStoredAsync("cluster-kill", requests / 4, TimeSpan.FromSeconds(120));
            victim.Kill(entireProcessTree: true); // SIGKILL: no graceful stop, its unacknowledged messages return to the queue
            await sending;
            await WaitForStoredAsync("cluster-kill", requests, TimeSpan.FromSeconds(180));
        }
        finally
        {
            if (!victim.HasExited)
                victim.Kill(entireProcessTree: true);
            await publisher.StopAsync();
        }

        Assert.Equal(requests, await fixture.Vocabularies.CountDocumentsAsync(d => d.UserId == "cluster-kill"));
        Assert.Equal(0, await ErrorQueueDepthAsync());
    }

    private static async Task<string> CreateKeyAsync(IServiceProvider services, string user) =>
        (await services.GetRequiredService<ApiKeyStore>().CreateAsync(user, Roles.User, DateTime.UtcNow)).Key;

    /// <summary>Sends every request, resending what a broken connection left unconfirmed (the same requestId: idempotent).</summary>
    private static async Task SendAllAsync(IBusControl publisher, string key, int count, string tag)
    {
        // The exchange, not queue:…: a sender declaring the queue would declare it classic, which the quorum queue refuses.
        var endpoint = await publisher.GetSendEndpoint(new Uri($"exchange:{Queue}"));
        using var inFlight = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var request = WorkerFixture.NewRequest(transcript: $"Cluster {tag} transcript {i} {Guid.NewGuid():N}");
            await inFlight.WaitAsync();
            try
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await endpoint.Send(request, c => c.UseApiKey(key));
                        return;
                    }
                    catch (Exception) when (attempt < 150)
                    {
                        await Task.Delay(200);
                    }
                }
            }
            finally
            {
                inFlight.Release();
            }
        }));
    }

    private async Task WaitForStoredAsync(string user, long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        long stored;
        while ((stored = await fixture.Vocabularies.CountDocumentsAsync(d => d.UserId == user)) < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{stored} of {count} results stored for {user} after {timeout}; queues: {await QueueStatesAsync()}");
            await Task.Delay(250);
        }
    }

    /// <summary>Waits until the input queue has this many consumers (the worker process has started and subscribed).</summary>
    private async Task WaitForConsumersAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            using var management = fixture.ManagementOf(0);
            var response = await management.GetAsync($"api/queues/{fixture.VirtualHost}/{Queue}");
            if (response.IsSuccessStatusCode)
            {
                using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                if (json.RootElement.TryGetProperty("consumers", out var consumers) && consumers.GetInt32() >= count)
                    return;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"fewer than {count} consumers on {Queue} after 90 s");
    }

    private async Task<string> QueueStatesAsync()
    {
        for (var i = 0; i < fixture.Hosts.Length; i++)
        {
            try
            {
                using var management = fixture.ManagementOf(i);
                using var json = System.Text.Json.JsonDocument.Parse(await management.GetStringAsync($"api/queues/{fixture.VirtualHost}"));
                return string.Join("; ", json.RootElement.EnumerateArray().Select(q =>
                    $"{q.GetProperty("name").GetString()} ready {Value(q, "messages_ready")} unacked {Value(q, "messages_unacknowledged")} consumers {Value(q, "consumers")} leader {(q.TryGetProperty("leader", out var l) ? l.GetString() : "-")}"));
            }
            catch (HttpRequestException)
            {
                // Ask the next node.
            }
        }
        return "(no management API answered)";

        static string Value(System.Text.Json.JsonElement queue, string name) => queue.TryGetProperty(name, out var v) ? v.ToString() : "?";
    }

    private async Task<long> ErrorQueueDepthAsync()
    {
        for (var i = 0; i < fixture.Hosts.Length; i++)
        {
            try
            {
                using var management = fixture.ManagementOf(i);
                var response = await management.GetAsync($"api/queues/{fixture.VirtualHost}/{Queue}_error");
                if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
                    return 0;
                using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                return json.RootElement.TryGetProperty("messages", out var messages) ? messages.GetInt64() : 0;
            }
            catch (HttpRequestException)
            {
                // That node is down; ask another.
            }
        }
        throw new InvalidOperationException("no management API answered");
    }

    /// <summary>A worker as its own process (the production entry point), configured through environment variables.</summary>
    private Process StartWorkerProcess()
    {
        var start = new ProcessStartInfo("dotnet", [RepositoryFiles.PathOf("src/Worker/bin/Release/net10.0/Vocab.Worker.dll")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryFiles.PathOf("src/Worker/bin/Release/net10.0"),
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        foreach (var (name, value) in fixture.WorkerConfiguration())
            start.Environment[name.Replace(":", "__", StringComparison.Ordinal)] = value;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
