using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// A month's latest counted request in one slot of the usage document: the request, and the counting that took it
/// (<see cref="LedgerEntry.Admission"/> names the same counting once the ledger has it).
/// </summary>
public sealed class RecentAdmission
{
    [BsonElement("i")]
    public string RequestId { get; set; } = "";

    [BsonElement("a")]
    public string Admission { get; set; } = "";
}
