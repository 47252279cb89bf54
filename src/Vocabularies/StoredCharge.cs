using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Vocabularies;

/// <summary>
/// What a served answer's request owes its usage document (<c>charge</c> on the stored answer): the reservation to end
/// and the tokens to charge. Written with the answer, in the same insert, so a worker that dies before settling leaves
/// what the orphan sweep needs to settle it.
/// </summary>
public sealed class StoredCharge
{
    /// <summary>The usage document (<c>user|yyyy-MM</c>) the reservation lives in.</summary>
    [BsonElement("u")]
    public string UsageId { get; set; } = "";

    /// <summary>The tokens reserved: the settlement's guard.</summary>
    [BsonElement("e")]
    public long ReservedTokens { get; set; }

    /// <summary>The tokens the request's calls used.</summary>
    [BsonElement("t")]
    public long ChargedTokens { get; set; }

    /// <summary>
    /// The delivery that stored it (its lease owner; unique per delivery): tells a worker that reads the answer back after
    /// an insert that failed half way that the answer is its own. Null on answers stored before it was written.
    /// </summary>
    [BsonElement("o")]
    [BsonIgnoreIfNull]
    public string? StoredBy { get; set; }

    /// <summary>True when <paramref name="other"/> was stored by the same delivery (a delivery known by its lease owner).</summary>
    public bool IsSameDelivery(StoredCharge? other) => StoredBy is not null && StoredBy == other?.StoredBy;
}
