using System.Net.Http.Headers;
using System.Text;

namespace Vocab.TestSupport;

/// <summary>A throw-away virtual host, created and deleted through the management API, isolating one test class's queues.</summary>
public sealed class RabbitMqVirtualHost : IAsyncDisposable
{
    private readonly HttpClient _management;

    private RabbitMqVirtualHost(HttpClient management, string name)
    {
        _management = management;
        Name = name;
    }

    public string Name { get; }

    /// <summary>The AMQP address of this virtual host.</summary>
    public Uri AmqpUri => new UriBuilder(ServiceAddresses.RabbitMq) { Path = "/" + Uri.EscapeDataString(Name) }.Uri;

    public HttpClient Management => _management;

    public static async Task<RabbitMqVirtualHost> CreateAsync(string prefix)
    {
        var management = CreateManagementClient();
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 60)];
        (await management.PutAsync($"api/vhosts/{name}", null)).EnsureSuccessStatusCode();
        var user = ServiceAddresses.RabbitMq.UserInfo.Split(':')[0];
        var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await management.PutAsync($"api/permissions/{name}/{Uri.EscapeDataString(user)}", permissions)).EnsureSuccessStatusCode();
        return new RabbitMqVirtualHost(management, name);
    }

    public static HttpClient CreateManagementClient()
    {
        var address = ServiceAddresses.RabbitMqManagement;
        var client = new HttpClient { BaseAddress = new UriBuilder(address) { UserName = "", Password = "" }.Uri };
        var credentials = Uri.UnescapeDataString(address.UserInfo);
        client.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        return client;
    }

    /// <summary>Loads the broker definitions the compose broker loads (rabbitmq/definitions.json) into this virtual host.</summary>
    public async Task ImportDefinitionsAsync()
    {
        var definitions = await File.ReadAllTextAsync(RepositoryFiles.PathOf("rabbitmq/definitions.json"));
        var response = await _management.PostAsync($"api/definitions/{Name}", new StringContent(definitions, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        await _management.DeleteAsync($"api/vhosts/{Name}");
        _management.Dispose();
    }
}
