using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Authentication.ApiKeys;

/// <summary>A stored API key: its id and SHA-256 hash, never the key itself.</summary>
public sealed class ApiKeyDocument
{
    [BsonId]
    public string KeyId { get; set; } = "";

    /// <summary>Lower-case hex SHA-256 of the whole key.</summary>
    [BsonElement("hash")]
    public string Hash { get; set; } = "";

    [BsonElement("userId")]
    public string UserId { get; set; } = "";

    [BsonElement("role")]
    public string Role { get; set; } = Roles.User;

    [BsonElement("name")]
    [BsonIgnoreIfNull]
    public string? Name { get; set; }

    [BsonElement("active")]
    public bool Active { get; set; } = true;

    [BsonElement("createdAt")]
    public DateTime CreatedAt { get; set; }

    [BsonElement("expiresAt")]
    [BsonIgnoreIfNull]
    public DateTime? ExpiresAt { get; set; }

    [BsonElement("revokedAt")]
    [BsonIgnoreIfNull]
    public DateTime? RevokedAt { get; set; }

    [BsonElement("lastUsedAt")]
    [BsonIgnoreIfNull]
    public DateTime? LastUsedAt { get; set; }

    /// <summary>The key this one was rotated from, if any.</summary>
    [BsonElement("rotatedFrom")]
    [BsonIgnoreIfNull]
    public string? RotatedFrom { get; set; }
}
