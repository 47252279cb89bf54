using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>One user's requests in one rate window (<c>rate_windows</c>, id <c>user|window</c>), removed by a TTL index after it ends.</summary>
public sealed class RateWindowDocument
{
    [BsonId]
    public string Id { get; set; } = "";

    [BsonElement("ids")]
    public List<string> RequestIds { get; set; } = [];

    [BsonElement("expiresAt")]
    public DateTime ExpiresAt { get; set; }
}
