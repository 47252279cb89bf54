using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Authentication.Jwt;

/// <summary>A per-user "not before": every token of the user issued earlier is refused (logout everywhere).</summary>
public sealed class UserRevocationDocument
{
    [BsonId]
    public string UserId { get; set; } = "";

    [BsonElement("notBefore")]
    public DateTime NotBefore { get; set; }
}
