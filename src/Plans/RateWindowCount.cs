using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>The user's requests counted in the current rate window (<c>rw</c> in the usage document): the window's index and its count.</summary>
public sealed class RateWindowCount
{
    [BsonElement("i")]
    public long Index { get; set; }

    [BsonElement("n")]
    public int Count { get; set; }
}
