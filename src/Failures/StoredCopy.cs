using MongoDB.Bson;
using MongoDB.Bson.Serialization.Attributes;
using RabbitMQ.Client;

namespace Vocab.Failures;

/// <summary>
/// A dead-lettered copy exactly as it was delivered: the properties a replay and the signature use, every header with its
/// AMQP type, and the body's bytes. Only what the worker wrote is kept: the worker already removed every credential.
/// </summary>
[BsonIgnoreExtraElements]
public sealed class StoredCopy
{
    [BsonElement("contentType")] public string? ContentType { get; set; }
    [BsonElement("contentEncoding")] public string? ContentEncoding { get; set; }
    [BsonElement("correlationId")] public string? CorrelationId { get; set; }
    [BsonElement("messageId")] public string? MessageId { get; set; }
    [BsonElement("replyTo")] public string? ReplyTo { get; set; }
    [BsonElement("type")] public string? Type { get; set; }
    [BsonElement("appId")] public string? AppId { get; set; }
    [BsonElement("timestamp")] public long Timestamp { get; set; }

    /// <summary>In delivery order: <c>{n: name, t: type, v: value}</c>.</summary>
    [BsonElement("headers")] public BsonArray Headers { get; set; } = [];

    [BsonElement("body")] public byte[] Body { get; set; } = [];

    /// <summary>Captures a delivery; headers <paramref name="drop"/> picks are left out, which makes such a copy unverifiable.</summary>
    public static StoredCopy From(IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, Func<string, object?, bool> drop) => new()
    {
        ContentType = properties.ContentType,
        ContentEncoding = properties.ContentEncoding,
        CorrelationId = properties.CorrelationId,
        MessageId = properties.MessageId,
        ReplyTo = properties.ReplyTo,
        Type = properties.Type,
        AppId = properties.AppId,
        Timestamp = properties.Timestamp.UnixTime,
        Headers = new BsonArray((properties.Headers ?? new Dictionary<string, object?>())
            .Where(h => !drop(h.Key, h.Value))
            .Select(h => new BsonDocument { ["n"] = h.Key }.AddRange(AmqpValueCodec.Encode(h.Value).AsBsonDocument))),
        Body = body.ToArray(),
    };

    /// <summary>The properties as delivered, for verifying the signature and building a replay.</summary>
    public BasicProperties Properties()
    {
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var header in Headers.Select(h => h.AsBsonDocument))
            headers[header["n"].AsString] = AmqpValueCodec.Decode(header);
        return new BasicProperties
        {
            ContentType = ContentType,
            ContentEncoding = ContentEncoding,
            CorrelationId = CorrelationId,
            MessageId = MessageId,
            ReplyTo = ReplyTo,
            Type = Type,
            AppId = AppId,
            Timestamp = new AmqpTimestamp(Timestamp),
            Headers = headers,
        };
    }
}
