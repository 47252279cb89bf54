using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vocab.TestSupport;

/// <summary>
/// The broker accounts rabbitmq/definitions.json declares (vocab-publisher, vocab-worker, …), recreated for one test
/// virtual host: a user per role, named after the virtual host (users are broker-wide), with a random password and
/// exactly the configure/write/read expressions the definitions give that role. Tests on them prove the shipped
/// definitions, not a copy. Deleted with the virtual host's test class.
/// </summary>
public sealed class RabbitMqRoleAccounts : IAsyncDisposable
{
    public const string Publisher = "vocab-publisher";
    public const string Worker = "vocab-worker";
    public const string Bridge = "vocab-bridge";
    public const string Ops = "vocab-ops";
    public const string Events = "vocab-events";

    private readonly RabbitMqVirtualHost _virtualHost;
    private readonly HttpClient _management;
    private readonly Dictionary<string, (string User, string Password)> _accounts;

    private RabbitMqRoleAccounts(RabbitMqVirtualHost virtualHost, HttpClient management, Dictionary<string, (string User, string Password)> accounts)
    {
        _virtualHost = virtualHost;
        _management = management;
        _accounts = accounts;
    }

    /// <summary>The roles the definitions declare.</summary>
    public IReadOnlyCollection<string> Roles => _accounts.Keys;

    /// <summary>The permissions rabbitmq/definitions.json gives each role on vhost <c>/</c>: role → (configure, write, read).</summary>
    public static IReadOnlyDictionary<string, (string Configure, string Write, string Read)> DefinedPermissions()
    {
        var definitions = JsonNode.Parse(File.ReadAllText(RepositoryFiles.PathOf("rabbitmq/definitions.json")))!;
        return definitions["permissions"]!.AsArray()
            .Where(p => (string?)p!["vhost"] == "/")
            .ToDictionary(p => (string)p!["user"]!, p => ((string)p!["configure"]!, (string)p["write"]!, (string)p["read"]!));
    }

    public static async Task<RabbitMqRoleAccounts> CreateAsync(RabbitMqVirtualHost virtualHost)
    {
        // A client of its own: the accounts may outlive the virtual host's (deleted after the hosts using them stopped).
        var management = RabbitMqVirtualHost.CreateManagementClient();
        var accounts = new Dictionary<string, (string User, string Password)>();
        foreach (var (role, (configure, write, read)) in DefinedPermissions())
        {
            var user = $"{virtualHost.Name}.{role}";
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            await PutAsync(management, $"api/users/{Uri.EscapeDataString(user)}", new { password, tags = "" });
            await PutAsync(management, $"api/permissions/{Uri.EscapeDataString(virtualHost.Name)}/{Uri.EscapeDataString(user)}",
                new { configure, write, read });
            accounts[role] = (user, password);
        }
        return new RabbitMqRoleAccounts(virtualHost, management, accounts);
    }

    /// <summary>The plain AMQP address of the test virtual host as <paramref name="role"/>.</summary>
    public Uri AmqpUri(string role) => WithAccount(_virtualHost.AmqpUri, role);

    /// <summary>The AMQPS address of the test virtual host as <paramref name="role"/>.</summary>
    public Uri AmqpsUri(string role) =>
        WithAccount(new UriBuilder(ServiceAddresses.RabbitMqTls) { Path = "/" + Uri.EscapeDataString(_virtualHost.Name) }.Uri, role);

    private Uri WithAccount(Uri address, string role)
    {
        var (user, password) = _accounts[role];
        return new UriBuilder(address) { UserName = Uri.EscapeDataString(user), Password = password }.Uri;
    }

    private static async Task PutAsync(HttpClient management, string path, object body)
    {
        var response = await management.PutAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (user, _) in _accounts.Values)
            await _management.DeleteAsync($"api/users/{Uri.EscapeDataString(user)}");
        _management.Dispose();
    }
}
