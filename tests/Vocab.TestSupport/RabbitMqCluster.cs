using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MassTransit;
using Vocab.Messaging;

namespace Vocab.TestSupport;

/// <summary>
/// A virtual host of its own on the three-node cluster of <c>scripts/services.sh cluster up</c> (addresses in
/// .services/cluster.env), for the cluster tests and benchmarks: the nodes' addresses and management APIs, queue states,
/// a publisher that knows every node, and stopping and starting a node.
/// </summary>
public sealed class RabbitMqCluster : IAsyncDisposable
{
    private RabbitMqCluster(string[] hosts, string virtualHost)
    {
        Hosts = hosts;
        VirtualHost = virtualHost;
    }

    /// <summary><c>host:port</c> of every node, the first being the usual node (rabbit@host).</summary>
    public string[] Hosts { get; }

    public string VirtualHost { get; }

    /// <summary>The first node's address, on this virtual host.</summary>
    public string AmqpUri => $"amqp://guest:guest@127.0.0.1:{Port(0)}/{VirtualHost}";

    /// <summary>Creates the virtual host (through the first node; virtual hosts are cluster-wide).</summary>
    public static async Task<RabbitMqCluster> CreateAsync(string prefix)
    {
        var hosts = (Environment.GetEnvironmentVariable("VOCAB_RABBITMQ_CLUSTER_HOSTS") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("VOCAB_RABBITMQ_CLUSTER_HOSTS is not set: start the cluster with scripts/services.sh cluster up and source .services/cluster.env (scripts/test-cluster.sh does both).")).Split(',');
        var cluster = new RabbitMqCluster(hosts, $"{prefix}-{Guid.NewGuid():N}");
        using var management = cluster.ManagementOf(0);
        (await management.PutAsync($"api/vhosts/{cluster.VirtualHost}", null)).EnsureSuccessStatusCode();
        (await management.PutAsync($"api/permissions/{cluster.VirtualHost}/guest",
            new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        return cluster;
    }

    /// <summary>What the worker and the bridge need to know every node: <c>RabbitMq:Hosts:i</c>.</summary>
    public IEnumerable<KeyValuePair<string, string?>> HostSettings() =>
        Hosts.Select((host, i) => new KeyValuePair<string, string?>($"RabbitMq:Hosts:{i}", host));

    /// <summary>A publishing bus that knows every node, reading responses one at a time, as the bridge does.</summary>
    public async Task<IBusControl> StartPublisherAsync()
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(AmqpUri), h => h.UseCluster(c =>
            {
                foreach (var node in Hosts)
                    c.Node(node);
            }));
            // A requester endpoint name: the only kind the worker answers a MassTransit request on.
            rabbit.OverrideDefaultBusEndpointQueueName(Vocab.Contracts.RequesterEndpoints.NewName());
            rabbit.ConcurrentMessageLimit = 1;
        });
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        return bus;
    }

    /// <summary>The state of every queue of the virtual host, asked of the first node that answers.</summary>
    public async Task<IReadOnlyList<QueueState>> QueuesAsync()
    {
        for (var i = 0; i < Hosts.Length; i++)
        {
            try
            {
                using var management = ManagementOf(i);
                using var json = JsonDocument.Parse(await management.GetStringAsync($"api/queues/{VirtualHost}"));
                return json.RootElement.EnumerateArray().Select(QueueState.From).ToList();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // That node is down; ask another.
            }
        }
        throw new InvalidOperationException("no node's management API answered");
    }

    /// <summary>One queue's state; an undeclared queue is empty.</summary>
    public async Task<QueueState> QueueAsync(string name) =>
        (await QueuesAsync()).FirstOrDefault(q => q.Name == name) ?? new QueueState(name, 0, 0, 0, null);

    /// <summary>The queues in one line, for a failing test's message, with the reasons of what waits on an error queue.</summary>
    public async Task<string> DescribeQueuesAsync()
    {
        var queues = await QueuesAsync();
        var described = string.Join("; ", queues.Select(q => q.ToString()));
        foreach (var queue in queues.Where(q => IsFailureQueue(q.Name) && q.Ready > 0))
            described += $"{Environment.NewLine}{queue.Name}: {await PeekReasonsAsync(queue.Name)}";
        return described;
    }

    /// <summary>The reason of every copy on the failure queues (error, refused, skipped), looked at and left in place.</summary>
    public async Task<IReadOnlyList<string>> FailureReasonsAsync()
    {
        var reasons = new List<string>();
        foreach (var queue in (await QueuesAsync()).Where(q => IsFailureQueue(q.Name) && q.Ready > 0))
            reasons.AddRange((await PeekAsync(queue.Name, (int)Math.Min(queue.Ready, 500))).Select(m => m.Reason));
        return reasons;
    }

    /// <summary>Empties the failure queues (error, refused, skipped): what an earlier test left there is that test's failure, not the next one's.</summary>
    public async Task PurgeFailureQueuesAsync()
    {
        foreach (var queue in (await QueuesAsync()).Where(q => IsFailureQueue(q.Name) && q.Messages > 0))
        {
            using var management = ManagementOf(0);
            (await management.DeleteAsync($"api/queues/{VirtualHost}/{Uri.EscapeDataString(queue.Name)}/contents")).EnsureSuccessStatusCode();
        }
    }

    /// <summary>
    /// True for one of the worker's failure queues (<c>generate-vocabulary_error</c>, <c>_refused</c>, <c>_skipped</c>);
    /// not a publisher's own exclusive <c>…_skipped</c> bus queue, which nobody else may look into.
    /// </summary>
    public static bool IsFailureQueue(string name) =>
        name.StartsWith(QueueNames.DefaultInput + "_", StringComparison.Ordinal)
        && (name.EndsWith(QueueNames.ErrorSuffix, StringComparison.Ordinal) || name.EndsWith(QueueNames.RefusedSuffix, StringComparison.Ordinal)
            || name.EndsWith(QueueNames.SkippedSuffix, StringComparison.Ordinal));

    // Requeued at once: a look for the failure message, not a consumer.
    private async Task<string> PeekReasonsAsync(string queue)
    {
        var copies = await PeekAsync(queue, 10);
        return copies.Count == 0 ? "(no node answered)" : string.Join(" | ", copies.Select(c => $"{c.Reason}: {c.Fault}"));
    }

    private async Task<IReadOnlyList<(string Reason, string Fault)>> PeekAsync(string queue, int count)
    {
        for (var i = 0; i < Hosts.Length; i++)
        {
            try
            {
                using var management = ManagementOf(i);
                using var response = await management.PostAsync($"api/queues/{VirtualHost}/{Uri.EscapeDataString(queue)}/get",
                    new StringContent($$"""{"count":{{count}},"ackmode":"ack_requeue_true","encoding":"auto"}""", System.Text.Encoding.UTF8, "application/json"));
                var text = await response.Content.ReadAsStringAsync();
                using var json = JsonDocument.Parse(text);
                if (json.RootElement.ValueKind != JsonValueKind.Array)
                    return [($"(the management API said {response.StatusCode}: {text})", "-")];
                return json.RootElement.EnumerateArray().Select(m =>
                {
                    var headers = m.GetProperty("properties").TryGetProperty("headers", out var h) ? h : default;
                    string Header(string name) => headers.ValueKind == JsonValueKind.Object && headers.TryGetProperty(name, out var v) ? v.ToString() : "-";
                    return (Header("Vocab-Reason"), $"{Header("MT-Fault-ExceptionType")}: {Header("MT-Fault-Message")}");
                }).ToList();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
        }
        return [];
    }

    /// <summary>Waits until the queue has this many consumers (management figures lag a few seconds).</summary>
    public async Task WaitForConsumersAsync(string queue, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await QueueAsync(queue)).Consumers < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"fewer than {count} consumers on {queue} after {timeout}; queues: {await DescribeQueuesAsync()}");
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Gives every quorum queue of this virtual host a member on each running node (<c>rabbitmq-queues grow</c>), and waits
    /// until <paramref name="queue"/> has them all online. A queue gets its members when it is declared, from the nodes
    /// the broker counts as running then; one with a member short loses its quorum with one node and stalls until that
    /// node returns (seen in CI: the input queue on two of three nodes, its leader stopped).
    /// </summary>
    public async Task SpreadQuorumQueuesAsync(string queue, TimeSpan timeout)
    {
        var nodes = await NodesAsync();
        foreach (var node in nodes)
            await RunAsync("rabbitmq-queues", ["-q", "grow", node, "all", "--vhost-pattern", $"^{VirtualHost}$"]);
        var deadline = DateTime.UtcNow + timeout;
        while (await QueueAsync(queue) is var state && (state.Members < nodes.Count || state.Online < nodes.Count))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{queue} has not a member online on each of {nodes.Count} nodes after {timeout}: {state}");
            await Task.Delay(250);
        }
    }

    /// <summary>The names of the cluster's running nodes, from the first management API that answers.</summary>
    private async Task<IReadOnlyList<string>> NodesAsync()
    {
        for (var i = 0; i < Hosts.Length; i++)
        {
            try
            {
                using var management = ManagementOf(i);
                using var nodes = JsonDocument.Parse(await management.GetStringAsync("api/nodes?columns=name,running"));
                return nodes.RootElement.EnumerateArray().Where(n => n.GetProperty("running").GetBoolean()).Select(n => n.GetProperty("name").GetString()!).ToList();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // That node is down; ask another.
            }
        }
        throw new InvalidOperationException("no node's management API answered");
    }

    /// <summary>Stops the RabbitMQ application on a node (the Erlang node stays up, as <c>rabbitmqctl stop_app</c> does).</summary>
    public static Task StopNodeAsync(string node) => RabbitMqCtlAsync(node, "stop_app");

    /// <summary>Starts it again and waits until it serves.</summary>
    public static async Task StartNodeAsync(string node)
    {
        await RabbitMqCtlAsync(node, "start_app");
        await RabbitMqCtlAsync(node, "await_startup");
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < Hosts.Length; i++)
        {
            try
            {
                using var management = ManagementOf(i);
                // Deleted, or gone already; anything else (a node still starting) is asked of the next node.
                var deleted = await management.DeleteAsync($"api/vhosts/{VirtualHost}");
                if (deleted.IsSuccessStatusCode || deleted.StatusCode == System.Net.HttpStatusCode.NotFound)
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // That node is down; try the next.
            }
        }
    }

    /// <summary>The management API of node <paramref name="index"/> (its port is the AMQP port + 10000).</summary>
    private HttpClient ManagementOf(int index)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port(index) + 10000}/"), Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
        return client;
    }

    private int Port(int index) => int.Parse(Hosts[index].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);

    private static Task RabbitMqCtlAsync(string node, string command) => RunAsync("rabbitmqctl", ["-q", "-n", node, command]);

    private static async Task RunAsync(string tool, string[] arguments)
    {
        var start = new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', arguments)} did not finish in 120 s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output} {await errors}");
    }
}
