using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace Vocab.Ops.Rendering;

/// <summary>Queue depths and consumers from the RabbitMQ management API, for the system page.</summary>
public sealed class BrokerQueues(HttpClient client, IOptions<OpsOptions> options)
{
    public sealed record Queue(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("messages")] long? Messages,
        [property: JsonPropertyName("messages_unacknowledged")] long? Unacknowledged,
        [property: JsonPropertyName("consumers")] int? Consumers);

    /// <summary>The vhost's queues, or the reason they could not be read.</summary>
    public async Task<(IReadOnlyList<Queue> Queues, string? Error)> ListAsync(CancellationToken cancellationToken)
    {
        try
        {
            var queues = await client.GetFromJsonAsync<List<Queue>>($"api/queues/{Uri.EscapeDataString(options.Value.VirtualHost)}", cancellationToken);
            return ((queues ?? []).OrderBy(q => q.Name, StringComparer.Ordinal).ToList(), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return ([], $"the management API did not answer: {e.Message}");
        }
    }
}
