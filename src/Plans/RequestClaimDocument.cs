using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// A requestId bound to what it was first used for (<c>request_claims</c>, id: the requestId): the fingerprint, the lease
/// of the one worker producing it now, and whether a failed attempt was counted (and gave its reservation back). Whether
/// it is answered is the stored answer's existence (<c>vocabularies</c>, same id), not a flag here: no extra write.
/// </summary>
[BsonIgnoreExtraElements]
public sealed class RequestClaimDocument
{
    // Element names, for updates built as strings on the hot path (a lambda is translated on every call).
    internal const string UserIdField = "userId", FingerprintField = "fingerprint", OwnerField = "owner", LeaseUntilField = "leaseUntil",
        CreatedAtField = "createdAt", ExpiresAtField = "expiresAt";

    [BsonId]
    public string RequestId { get; set; } = "";

    [BsonElement(UserIdField)]
    public string UserId { get; set; } = "";

    [BsonElement(FingerprintField)]
    public string Fingerprint { get; set; } = "";

    /// <summary>
    /// The month (<c>yyyy-MM</c>) an attempt that was counted gave its reservation back in: a later attempt in that month
    /// reserves again, uncounted; in a later month it is counted there.
    /// </summary>
    [BsonElement("countedMonth")]
    [BsonIgnoreIfNull]
    public string? CountedMonth { get; set; }

    /// <summary>Who produces the answer now; null when nobody does.</summary>
    [BsonElement(OwnerField)]
    [BsonIgnoreIfNull]
    public string? Owner { get; set; }

    /// <summary>Until when <see cref="Owner"/> holds it; a crashed owner's lease runs out and another takes over.</summary>
    [BsonElement(LeaseUntilField)]
    [BsonIgnoreIfNull]
    public DateTime? LeaseUntil { get; set; }

    [BsonElement(CreatedAtField)]
    public DateTime CreatedAt { get; set; }

    /// <summary>Removed by a TTL index after <c>Plans:LedgerRetention</c>.</summary>
    [BsonElement(ExpiresAtField)]
    public DateTime ExpiresAt { get; set; }
}
