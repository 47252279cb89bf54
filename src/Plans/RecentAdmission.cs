using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// A month's latest finished request (settled or given back) in one slot of the usage document: a copy of it coming
/// back soon after (a crash between settling and storing its answer) is known as counted.
/// </summary>
[BsonIgnoreExtraElements]
public sealed class RecentAdmission
{
    [BsonElement("i")]
    public string RequestId { get; set; } = "";
}
