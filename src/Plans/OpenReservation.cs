using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// An admitted request's live reservation in its usage document (<c>open.&lt;requestId&gt;</c>): counted, its estimated
/// tokens reserved, not settled or given back yet; and its claim while in flight (fingerprint and lease). Written by the admission's one conditional update and removed by the
/// settlement's, so a redelivery finds its request counted however long the call took, and the map holds only what is
/// in flight.
/// </summary>
public sealed class OpenReservation
{
    /// <summary>The tokens reserved: the settlement's guard, and what it gives back.</summary>
    [BsonElement("e")]
    public long Tokens { get; set; }

    [BsonElement("at")]
    public DateTime At { get; set; }

    /// <summary>The request's fingerprint: a copy of its requestId with another body is refused while it is in flight.</summary>
    [BsonElement("f")]
    [BsonIgnoreIfNull]
    public string? Fingerprint { get; set; }

    /// <summary>The delivery producing it (its lease); null when admitted without one.</summary>
    [BsonElement("o")]
    [BsonIgnoreIfNull]
    public string? Owner { get; set; }

    /// <summary>Until when <see cref="Owner"/> holds it; a crashed owner's lease runs out and another delivery takes over.</summary>
    [BsonElement("l")]
    [BsonIgnoreIfNull]
    public DateTime? LeaseUntil { get; set; }
}
