using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vocab.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Cleans a JSON body: removes credential and trusted headers from a MassTransit envelope's <c>headers</c> object (under
/// any casing of the name, as MassTransit reads it) and writes the JSON out again in one canonical form, so escapes
/// cannot hide a credential from the final check. Bodies that are not JSON cannot be cleaned with certainty.
/// </summary>
public static class EnvelopeBodyScrubber
{
    // The same leniency as MassTransit's envelope reader: a body it would process must be one we can clean.
    private static readonly JsonDocumentOptions ReadOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 64,
    };

    // Written back without escaping, so the credential check sees the text as it is.
    private static readonly JsonSerializerOptions WriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The cleaned body, or null when it cannot be parsed as JSON; credential values found are given to the detector.</summary>
    public static byte[]? Scrub(ReadOnlySpan<byte> body, CredentialDetector detector)
    {
        if (body.IsEmpty)
            return [];
        try
        {
            var root = JsonNode.Parse(body, documentOptions: ReadOptions);
            if (root is JsonObject envelope)
            {
                foreach (var headers in envelope.Where(p => string.Equals(p.Key, "headers", StringComparison.OrdinalIgnoreCase))
                             .Select(p => p.Value).OfType<JsonObject>().ToList())
                    RemoveHeaders(headers, detector);
            }
            return root is null ? "null"u8.ToArray() : JsonSerializer.SerializeToUtf8Bytes(root, WriteOptions);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            // Malformed JSON, duplicate names, too deep: MassTransit might still read part of it, we cannot be sure.
            return null;
        }
    }

    private static void RemoveHeaders(JsonObject headers, CredentialDetector detector)
    {
        foreach (var (name, value) in headers.ToList())
        {
            if (TrustedHeaders.IsCredential(name))
                detector.Add(value is JsonValue v && v.TryGetValue(out string? text) ? text : value?.ToJsonString());
            if (TrustedHeaders.IsCredential(name) || TrustedHeaders.IsTrusted(name) || TrustedHeaders.IsRequesterOnly(name))
                headers.Remove(name);
        }
    }
}
