using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// An admitted request's live reservation in its usage document (<c>open.&lt;requestId&gt;</c>): counted, its estimated
/// tokens reserved, not settled or given back yet. Written by the admission's one conditional update and removed by the
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
}
