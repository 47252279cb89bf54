using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>One admitted request in <c>usage_ledger</c> (id: <c>user|requestId</c>): what it reserved and whether it was settled or released, once.</summary>
[BsonIgnoreExtraElements]
public sealed class LedgerEntry
{
    public const string Reserved = "reserved";
    public const string Settled = "settled";
    public const string Released = "released";

    [BsonId]
    public string RequestId { get; set; } = "";

    [BsonElement("usageId")]
    public string UsageId { get; set; } = "";

    [BsonElement("reservedTokens")]
    public long ReservedTokens { get; set; }

    [BsonElement("actualTokens")]
    public long ActualTokens { get; set; }

    [BsonElement("state")]
    public string State { get; set; } = Reserved;

    /// <summary>The counting of the usage document this entry stands for (<see cref="RecentAdmission.Admission"/>).</summary>
    [BsonElement("admission")]
    public string Admission { get; set; } = "";

    [BsonElement("at")]
    public DateTime At { get; set; }

    /// <summary>Removed by a TTL index after <c>Plans:LedgerRetention</c>.</summary>
    [BsonElement("expiresAt")]
    public DateTime ExpiresAt { get; set; }
}
