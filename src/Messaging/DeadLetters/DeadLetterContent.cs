using System.Collections;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using Vocab.Contracts;

namespace Vocab.Messaging.DeadLetters;

/// <summary>
/// How a dead-lettered copy is read, the same way by the worker that signs it and by vocabctl that verifies and replays
/// it: the signed metadata headers, the body's digest, and what a replay carries on (a few properties and every header
/// the worker did not write), so that a replay sends nothing the signature does not cover.
/// </summary>
public static class DeadLetterContent
{
    /// <summary>The signed fields of a copy as it is written or read; null when a signed header appears twice (in two casings).</summary>
    public static DeadLetterMetadata? Read(IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body)
    {
        var headers = properties.Headers ?? new Dictionary<string, object?>();
        var ambiguous = false;
        string? Header(string name)
        {
            var matches = headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).ToList();
            ambiguous |= matches.Count > 1;
            return matches.Count == 1 ? PlainText(matches[0].Value) : null;
        }

        var metadata = new DeadLetterMetadata(
            Header(VocabHeaders.DeadLetterId), Header(VocabHeaders.DeadLetteredAt), Header(VocabHeaders.Reason),
            Header(VocabHeaders.UserId), Header(VocabHeaders.Role), Header(VocabHeaders.KeyId), Header(VocabHeaders.TokenId),
            Convert.ToHexStringLower(SHA256.HashData(body)), CarriedSha256(properties));
        // Read once more for the signature headers, so a duplicate of those is caught too.
        _ = Header(VocabHeaders.Signature);
        _ = Header(VocabHeaders.SignatureKeyId);
        return ambiguous ? null : metadata;
    }

    /// <summary>A header's value as text (AMQP long strings arrive as bytes), or null when absent.</summary>
    public static string? Header(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)) is { Key: not null } header
            ? PlainText(header.Value)
            : null;

    /// <summary>The properties a replay of this copy is sent with: exactly what <see cref="DeadLetterMetadata.CarriedSha256"/> covers.</summary>
    public static BasicProperties ReplayProperties(IReadOnlyBasicProperties copy)
    {
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in CarriedHeaders(copy))
            headers[name] = value;
        return new BasicProperties
        {
            ContentType = copy.ContentType,
            ContentEncoding = copy.ContentEncoding,
            CorrelationId = copy.CorrelationId,
            MessageId = copy.MessageId,
            ReplyTo = copy.ReplyTo,
            Type = copy.Type,
            AppId = copy.AppId,
            Headers = headers,
            Persistent = true,
        };
    }

    private static IEnumerable<KeyValuePair<string, object?>> CarriedHeaders(IReadOnlyBasicProperties properties) =>
        (properties.Headers ?? new Dictionary<string, object?>()).Where(h => !TrustedHeaders.IsTrusted(h.Key) && !IsClientArtefact(h.Key));

    // RabbitMQ.Client stamps its publisher-confirm sequence number on every message it publishes with confirmations
    // tracked, after the copy is signed; it means nothing to a replay.
    private static bool IsClientArtefact(string name) => string.Equals(name, "x-dotnet-pub-seq-no", StringComparison.OrdinalIgnoreCase);

    // Unambiguous by construction: JSON of the values in a fixed order, headers sorted by name with a type tag each.
    private static string CarriedSha256(IReadOnlyBasicProperties properties)
    {
        string?[] fixedFields =
        [
            properties.ContentType, properties.ContentEncoding, properties.CorrelationId, properties.MessageId,
            properties.ReplyTo, properties.Type, properties.AppId,
        ];
        var headers = CarriedHeaders(properties).OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => new[] { h.Key, Tagged(h.Value) });
        var canonical = JsonSerializer.SerializeToUtf8Bytes(new object[] { fixedFields, headers.ToArray() });
        return Convert.ToHexStringLower(SHA256.HashData(canonical));
    }

    private static string? PlainText(object? value) => value switch
    {
        null => null,
        string s => s,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        _ => Tagged(value)[2..],
    };

    // A string written by the worker comes back from the broker as bytes: both are "s:".
    private static string Tagged(object? value) => value switch
    {
        null => "z:",
        string s => "s:" + s,
        byte[] bytes => "s:" + Encoding.UTF8.GetString(bytes),
        bool b => b ? "b:true" : "b:false",
        AmqpTimestamp time => "t:" + time.UnixTime.ToString(CultureInfo.InvariantCulture),
        IDictionary table => "{" + string.Join(",", table.Keys.Cast<object>().Select(k => Convert.ToString(k, CultureInfo.InvariantCulture) ?? "")
            .Order(StringComparer.Ordinal).Select(k => JsonSerializer.Serialize(k) + ":" + JsonSerializer.Serialize(Tagged(table[k])))) + "}",
        IEnumerable list => "[" + string.Join(",", list.Cast<object?>().Select(v => JsonSerializer.Serialize(Tagged(v)))) + "]",
        IFormattable number => "n:" + number.ToString(null, CultureInfo.InvariantCulture),
        _ => "?:" + value,
    };
}
