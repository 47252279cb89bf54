using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Authentication.Jwt;

/// <summary>A blacklisted <c>jti</c>; a TTL index removes it once the token would have expired anyway.</summary>
public sealed class RevokedTokenDocument
{
    [BsonId]
    public string TokenId { get; set; } = "";

    [BsonElement("expiresAt")]
    public DateTime ExpiresAt { get; set; }

    [BsonElement("revokedAt")]
    public DateTime RevokedAt { get; set; }
}
