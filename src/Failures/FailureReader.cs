using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging.DeadLetters;

namespace Vocab.Failures;

/// <summary>
/// Turns a delivered dead-letter copy into a <see cref="FailureDocument"/>: verifies the worker's signature, reads the
/// signed metadata, the fault and the video id, and keeps the copy as delivered. The worker removed every credential
/// before filing; anything still shaped like one (a header named for it, an API key or JWT in a value or the body) is
/// dropped here too, which also leaves such a copy unverified and so never replayed.
/// </summary>
public sealed partial class FailureReader(DeadLetterSigner signer)
{
    private const string CredentialRemoved = "removed by the failure ingestor: it held something shaped like a credential";

    /// <summary>The document for one delivery from the <paramref name="queue"/> queue (<see cref="FailureQueues"/>).</summary>
    public FailureDocument Read(IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, string queue, DateTime now, TimeSpan retention)
    {
        var bodyText = Encoding.UTF8.GetString(body.Span);
        var bodyHasCredential = LooksLikeCredential(bodyText);
        var headerDropped = false;
        var copy = StoredCopy.From(properties, bodyHasCredential ? ReadOnlyMemory<byte>.Empty : body, (name, value) =>
        {
            var drop = VocabHeaders.CredentialHeaders.Contains(name, StringComparer.OrdinalIgnoreCase) || LooksLikeCredential(HeaderText(value));
            headerDropped |= drop;
            return drop;
        });
        var stored = copy.Properties();
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in stored.Headers!)
            headers[name] = HeaderText(value);

        // Verified on what is stored, so the store's verdict is the one a replay from it will reach.
        var unverified = signer.WhyUnverified(stored, copy.Body);
        if (bodyHasCredential || headerDropped)
            unverified = CredentialRemoved;
        string? Header(string name) => headers.TryGetValue(name, out var v) ? v : null;
        var deadLetterId = Header(VocabHeaders.DeadLetterId);
        var reason = Header(VocabHeaders.Reason) ?? "unknown";
        var faultType = Header("MT-Fault-ExceptionType");
        var failedAt = Header(VocabHeaders.DeadLetteredAt) is { } at &&
                       DateTime.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : now;
        return new FailureDocument
        {
            Id = unverified is null && deadLetterId is not null ? deadLetterId : "unverified-" + Digest(copy),
            DeadLetterId = deadLetterId,
            Queue = queue,
            Reason = reason,
            Group = reason == RejectionReasons.InternalError ? $"{reason}: {faultType ?? "unknown exception"}" : reason,
            UserId = Header(VocabHeaders.UserId),
            Role = Header(VocabHeaders.Role),
            KeyId = Header(VocabHeaders.KeyId),
            TokenId = Header(VocabHeaders.TokenId),
            VideoId = bodyHasCredential ? null : ReadVideoId(bodyText),
            MessageId = properties.MessageId ?? "",
            FailedAt = failedAt,
            FirstFailedAt = failedAt,
            Retries = int.TryParse(Header("MT-Fault-RetryCount"), CultureInfo.InvariantCulture, out var retries) ? retries : null,
            IngestedAt = now,
            RetainUntil = now + retention,
            ExpireAt = now + retention + FailureStore.TtlBackstop,
            FaultType = faultType,
            FaultMessage = Header("MT-Fault-Message"),
            Verified = unverified is null,
            Unverified = unverified,
            Headers = new Dictionary<string, string>(headers, StringComparer.Ordinal),
            Body = bodyHasCredential ? "" : bodyText,
            BodyRemoved = bodyHasCredential ? CredentialRemoved : Header(VocabHeaders.BodyRemoved),
            Copy = copy,
        };
    }

    /// <summary>True when text holds something shaped like a Vocab API key or a JWT.</summary>
    public static bool LooksLikeCredential(string text) => ApiKeyShape().IsMatch(text) || JwtShape().IsMatch(text);

    // Stable for the same delivered copy, so a redelivered unverified copy is found again rather than stored twice.
    private static string Digest(StoredCopy copy) =>
        Convert.ToHexStringLower(SHA256.HashData(MongoDB.Bson.BsonExtensionMethods.ToBson(copy)))[..32];

    private static string HeaderText(object? value) => value switch
    {
        null => "",
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        AmqpTimestamp timestamp => DateTimeOffset.FromUnixTimeSeconds(timestamp.UnixTime).UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list and not string => string.Join(",", list.Cast<object?>().Select(HeaderText)),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string? ReadVideoId(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out var message))
                root = message;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("videoId", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex("vocab_[0-9a-fA-F]{12}_", RegexOptions.CultureInvariant)]
    private static partial Regex ApiKeyShape();

    [GeneratedRegex("eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*\\.", RegexOptions.CultureInvariant)]
    private static partial Regex JwtShape();
}
