using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// One entry of <c>token_revocations</c>: a blacklisted jti (<c>_id</c> "jti:…", removed by the TTL index once the token
/// would have expired anyway) or a user's "not before" (<c>_id</c> "user:…": tokens issued earlier are refused).
/// </summary>
public sealed class RevocationDocument
{
    [BsonId]
    public string Id { get; set; } = "";

    /// <summary>For a jti: when the entry may go (the token's own expiry).</summary>
    [BsonElement("expiresAt")]
    [BsonIgnoreIfNull]
    public DateTime? ExpiresAt { get; set; }

    /// <summary>For a user: tokens issued before this are refused.</summary>
    [BsonElement("notBefore")]
    [BsonIgnoreIfNull]
    public DateTime? NotBefore { get; set; }

    [BsonElement("revokedAt")]
    public DateTime RevokedAt { get; set; }

    public static string TokenKey(string tokenId) => "jti:" + tokenId;

    public static string UserKey(string userId) => "user:" + userId;
}
