using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// One user's usage in one month (<c>usage_months</c>, id <c>user|yyyy-MM</c>): counters, and the latest counted request
/// of each of <see cref="QuotaLedger.RecentSlots"/> slots, so that counting a request and refusing a second charge for a
/// redelivery of it are one atomic update while the document stays bounded however many requests the month has.
/// </summary>
[BsonIgnoreExtraElements]
public sealed class UsageDocument
{
    [BsonId]
    public string Id { get; set; } = "";

    [BsonElement("userId")]
    public string UserId { get; set; } = "";

    [BsonElement("month")]
    public string Month { get; set; } = "";

    [BsonElement("plan")]
    public string Plan { get; set; } = "";

    [BsonElement("requests")]
    public long Requests { get; set; }

    /// <summary>Estimated tokens of admitted requests not yet settled.</summary>
    [BsonElement("reservedTokens")]
    public long ReservedTokens { get; set; }

    /// <summary>Actual tokens of settled requests.</summary>
    [BsonElement("usedTokens")]
    public long UsedTokens { get; set; }

    /// <summary>Reserved plus used: what the token quota is checked against.</summary>
    [BsonElement("committedTokens")]
    public long CommittedTokens { get; set; }

    /// <summary>By slot (a hash of the request id): the last request counted in it.</summary>
    [BsonElement("recent")]
    public Dictionary<string, RecentAdmission> Recent { get; set; } = [];
}
