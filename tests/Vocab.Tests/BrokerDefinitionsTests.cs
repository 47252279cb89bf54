using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>rabbitmq/definitions.json imports into the real broker and declares what the compose broker relies on.</summary>
public sealed class BrokerDefinitionsTests
{
    [Fact]
    public async Task Definitions_ImportIntoRealBroker_DeclareDurableQueueAndDeadLetterPolicy()
    {
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("definitions");

        await vhost.ImportDefinitionsAsync();

        using var queue = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/queues/{vhost.Name}/generate-vocabulary"));
        Assert.True(queue.RootElement.GetProperty("durable").GetBoolean());
        using var policy = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/policies/{vhost.Name}/vocab-dead-letter"));
        Assert.Equal("^generate-vocabulary$", policy.RootElement.GetProperty("pattern").GetString());
        // The broker cannot scrub credentials, so it dead-letters into a quarantine only the worker reads.
        Assert.Equal("generate-vocabulary_quarantine",
            policy.RootElement.GetProperty("definition").GetProperty("dead-letter-exchange").GetString());
        using var errorQueue = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/queues/{vhost.Name}/generate-vocabulary_error"));
        Assert.True(errorQueue.RootElement.GetProperty("durable").GetBoolean());
        using var quarantine = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/queues/{vhost.Name}/generate-vocabulary_quarantine"));
        Assert.True(quarantine.RootElement.GetProperty("durable").GetBoolean());
    }

    private static readonly Dictionary<string, string> RenderEnvironment = new()
    {
        ["RABBITMQ_USER"] = "vocab-admin-test",
        ["RABBITMQ_PASSWORD"] = "admin-secret",
        ["RABBITMQ_PUBLISHER_PASSWORD"] = "publisher-secret",
        ["RABBITMQ_WORKER_PASSWORD"] = "worker-secret",
        ["RABBITMQ_BRIDGE_PASSWORD"] = "bridge-secret",
        ["RABBITMQ_OPS_PASSWORD"] = "ops-secret",
        ["RABBITMQ_EVENTS_PASSWORD"] = "events-secret",
    };

    [Fact]
    public async Task ComposeRender_KeepsEachRolesPermissions_AddsAdministrator_AccountsFileHasNoTopology()
    {
        var output = Directory.CreateTempSubdirectory("vocab-render-").FullName;

        var (exitCode, error) = await RenderAsync(output, RenderEnvironment);

        Assert.True(exitCode == 0, error);
        using var rendered = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "definitions.json")));
        var permissions = rendered.RootElement.GetProperty("permissions").EnumerateArray()
            .ToDictionary(p => p.GetProperty("user").GetString()!, p => (p.GetProperty("configure").GetString(), p.GetProperty("write").GetString(), p.GetProperty("read").GetString()));
        foreach (var (role, defined) in RabbitMqRoleAccounts.DefinedPermissions())
            Assert.Equal(defined, permissions[role]);
        Assert.Equal((".*", ".*", ".*"), permissions["vocab-admin-test"]);
        var admin = rendered.RootElement.GetProperty("users").EnumerateArray().Single(u => u.GetProperty("name").GetString() == "vocab-admin-test");
        Assert.Equal("administrator", admin.GetProperty("tags")[0].GetString());
        Assert.True(rendered.RootElement.GetProperty("queues").GetArrayLength() > 0);
        using var accounts = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "accounts.json")));
        Assert.Equal(["permissions", "users", "vhosts"], accounts.RootElement.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(rendered.RootElement.GetProperty("users").GetArrayLength(), accounts.RootElement.GetProperty("users").GetArrayLength());
    }

    [Fact]
    public async Task ComposeRender_PasswordHash_LetsTheBrokerAcceptThatPasswordOnly()
    {
        var output = Directory.CreateTempSubdirectory("vocab-render-").FullName;
        Assert.Equal(0, (await RenderAsync(output, RenderEnvironment)).ExitCode);
        using var rendered = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "definitions.json")));
        var publisher = rendered.RootElement.GetProperty("users").EnumerateArray().Single(u => u.GetProperty("name").GetString() == RabbitMqRoleAccounts.Publisher);
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("render");
        // The rendered hash under a name of this test's own: users are broker-wide.
        var user = $"{vhost.Name}.render";
        (await vhost.Management.PutAsJsonAsync($"api/users/{user}", new
        {
            password_hash = publisher.GetProperty("password_hash").GetString(),
            hashing_algorithm = publisher.GetProperty("hashing_algorithm").GetString(),
            tags = "",
        })).EnsureSuccessStatusCode();
        try
        {
            (await vhost.Management.PutAsJsonAsync($"api/permissions/{vhost.Name}/{user}", new { configure = "", write = "", read = "" })).EnsureSuccessStatusCode();

            await using (await Connect(vhost, user, "publisher-secret"))
            {
            }
            await Assert.ThrowsAsync<BrokerUnreachableException>(() => Connect(vhost, user, "worker-secret"));
        }
        finally
        {
            await vhost.Management.DeleteAsync($"api/users/{user}");
        }
    }

    [Fact]
    public async Task ComposeRender_MissingRolePassword_StopsNamingTheVariable()
    {
        var environment = new Dictionary<string, string>(RenderEnvironment);
        environment.Remove("RABBITMQ_OPS_PASSWORD");

        var (exitCode, error) = await RenderAsync(Directory.CreateTempSubdirectory("vocab-render-").FullName, environment);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("RABBITMQ_OPS_PASSWORD", error, StringComparison.Ordinal);
    }

    private static Task<IConnection> Connect(RabbitMqVirtualHost vhost, string user, string password) =>
        new ConnectionFactory { Uri = new UriBuilder(vhost.AmqpUri) { UserName = Uri.EscapeDataString(user), Password = password }.Uri }.CreateConnectionAsync();

    private static async Task<(int ExitCode, string Error)> RenderAsync(string output, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash", [RepositoryFiles.PathOf("rabbitmq/render-definitions.sh"), RepositoryFiles.PathOf("rabbitmq/definitions.json"), output])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("RABBITMQ_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await error);
    }
}
