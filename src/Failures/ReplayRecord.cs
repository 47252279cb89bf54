using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Failures;

/// <summary>One replay attempt of a stored failure: when, by whom, and whether it was published or why not.</summary>
public sealed class ReplayRecord
{
    [BsonElement("at")] public DateTime At { get; set; }
    [BsonElement("by")] public string By { get; set; } = "";
    [BsonElement("replayed")] public bool Replayed { get; set; }
    [BsonElement("detail")] public string? Detail { get; set; }
}
