using System.Text.Json;
using System.Text.Json.Nodes;
using Vocab.Contracts;

namespace Vocab.Worker.DeadLetter;

/// <summary>Removes credential headers from AMQP header tables and from the <c>headers</c> object of a MassTransit envelope.</summary>
public static class CredentialScrubber
{
    /// <summary>A copy of the headers without the credential ones.</summary>
    public static Dictionary<string, object?> WithoutCredentials(IDictionary<string, object?>? headers)
    {
        var copy = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        if (headers is null)
            return copy;
        foreach (var (name, value) in headers)
        {
            if (!IsCredentialHeader(name))
                copy[name] = value;
        }
        return copy;
    }

    /// <summary>The body with the envelope's credential headers removed; the same bytes when there were none.</summary>
    public static byte[] WithoutCredentials(byte[] body)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return body;
        }

        if (root is not JsonObject envelope)
            return body;
        var headersProperty = envelope.FirstOrDefault(p => string.Equals(p.Key, "headers", StringComparison.OrdinalIgnoreCase));
        if (headersProperty.Value is not JsonObject headers)
            return body;

        var credentialNames = headers.Select(h => h.Key).Where(IsCredentialHeader).ToList();
        if (credentialNames.Count == 0)
            return body;
        foreach (var name in credentialNames)
            headers.Remove(name);
        return JsonSerializer.SerializeToUtf8Bytes(envelope);
    }

    private static bool IsCredentialHeader(string name) =>
        VocabHeaders.CredentialHeaders.Contains(name, StringComparer.OrdinalIgnoreCase);
}
