using System.Text;
using RabbitMQ.Client;
using Vocab.Contracts;

namespace Vocab.Admin.DeadLetters;

/// <summary>One message of the error queue as ops see it: ids, reason, caller identifiers, fault, headers and body.</summary>
public sealed record DeadLetterMessage(
    string MessageId, DateTime? Time, string Reason, string? UserId, string? KeyId, string? TokenId, string? VideoId,
    string? FaultType, string? FaultMessage, string? ContentType, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>Parses a fetched message; the video id is read from the body when it is JSON.</summary>
    public static DeadLetterMessage From(BasicGetResult result)
    {
        var properties = result.BasicProperties;
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in properties.Headers ?? new Dictionary<string, object?>())
            headers[name] = HeaderText(value);
        var body = Encoding.UTF8.GetString(result.Body.Span);
        string? Header(string name) => headers.TryGetValue(name, out var v) ? v : null;
        var time = Header("MT-Fault-Timestamp") is { } ts && DateTime.TryParse(ts, null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : properties.Timestamp.UnixTime > 0 ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime).UtcDateTime : (DateTime?)null;
        return new DeadLetterMessage(
            properties.MessageId ?? "",
            time,
            Header(VocabHeaders.Reason) ?? "unknown",
            Header(VocabHeaders.UserId),
            Header(VocabHeaders.KeyId),
            Header(VocabHeaders.TokenId),
            ReadVideoId(body),
            Header("MT-Fault-ExceptionType"),
            Header("MT-Fault-Message"),
            properties.ContentType,
            headers,
            body);
    }

    private static string HeaderText(object? value) => value switch
    {
        null => "",
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        AmqpTimestamp timestamp => DateTimeOffset.FromUnixTimeSeconds(timestamp.UnixTime).UtcDateTime.ToString("O"),
        System.Collections.IEnumerable list and not string => string.Join(",", list.Cast<object?>().Select(HeaderText)),
        _ => value.ToString() ?? "",
    };

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
