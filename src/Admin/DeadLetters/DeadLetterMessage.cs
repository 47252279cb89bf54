using System.Text;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Messaging.DeadLetters;

namespace Vocab.Admin.DeadLetters;

/// <summary>
/// One message of a dead-letter queue as ops see it: its dead-letter id, whether the worker's signature verifies, reason,
/// caller identifiers, fault, headers and body. An unverified message's Vocab-* values are whatever its publisher wrote.
/// </summary>
public sealed record DeadLetterMessage(
    string? DeadLetterId, string? Unverified, string MessageId, DateTime? Time, string Reason, string? UserId, string? Role,
    string? KeyId, string? TokenId, string? VideoId, string? FaultType, string? FaultMessage, string? ContentType,
    IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>True when the worker's signature verifies: only then may anything act on this message's metadata.</summary>
    public bool Verified => Unverified is null;

    /// <summary>Parses a fetched message and verifies its signature; the video id is read from the body when it is JSON.</summary>
    public static DeadLetterMessage From(BasicGetResult result, DeadLetterSigner signer)
    {
        var properties = result.BasicProperties;
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in properties.Headers ?? new Dictionary<string, object?>())
            headers[name] = HeaderText.Of(value, ",") ?? "";
        var body = Encoding.UTF8.GetString(result.Body.Span);
        string? Header(string name) => headers.TryGetValue(name, out var v) ? v : null;
        var time = (Header(VocabHeaders.DeadLetteredAt) ?? Header("MT-Fault-Timestamp")) is { } ts &&
                   DateTime.TryParse(ts, null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : properties.Timestamp.UnixTime > 0 ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime).UtcDateTime : (DateTime?)null;
        return new DeadLetterMessage(
            Header(VocabHeaders.DeadLetterId),
            signer.WhyUnverified(properties, result.Body.Span),
            properties.MessageId ?? "",
            time,
            Header(VocabHeaders.Reason) ?? "unknown",
            Header(VocabHeaders.UserId),
            Header(VocabHeaders.Role),
            Header(VocabHeaders.KeyId),
            Header(VocabHeaders.TokenId),
            ReadVideoId(body),
            Header("MT-Fault-ExceptionType"),
            Header("MT-Fault-Message"),
            properties.ContentType,
            headers,
            body);
    }

    private static string? ReadVideoId(string body)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("message", out var message))
                root = message;
            return root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("videoId", out var id) ? id.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
