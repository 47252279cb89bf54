using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// A requestId bound to what it was first used for (<c>request_claims</c>, id: the requestId): the fingerprint, whether
/// its answer is stored, and the lease of the one worker producing it now.
/// </summary>
[BsonIgnoreExtraElements]
public sealed class RequestClaimDocument
{
    [BsonId]
    public string RequestId { get; set; } = "";

    [BsonElement("userId")]
    public string UserId { get; set; } = "";

    [BsonElement("fingerprint")]
    public string Fingerprint { get; set; } = "";

    [BsonElement("completed")]
    public bool Completed { get; set; }

    /// <summary>Who produces the answer now; null when nobody does.</summary>
    [BsonElement("owner")]
    [BsonIgnoreIfNull]
    public string? Owner { get; set; }

    /// <summary>Until when <see cref="Owner"/> holds it; a crashed owner's lease runs out and another takes over.</summary>
    [BsonElement("leaseUntil")]
    [BsonIgnoreIfNull]
    public DateTime? LeaseUntil { get; set; }

    [BsonElement("createdAt")]
    public DateTime CreatedAt { get; set; }

    /// <summary>Removed by a TTL index after <c>Plans:LedgerRetention</c>.</summary>
    [BsonElement("expiresAt")]
    public DateTime ExpiresAt { get; set; }
}
