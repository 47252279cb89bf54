using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// One user's usage in one month (<c>usage_months</c>, id <c>user|yyyy-MM</c>). The admitted request ids live in the same
/// document, so admitting a request, counting it and refusing a second charge for it are one atomic update.
/// </summary>
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

    [BsonElement("admitted")]
    public List<string> Admitted { get; set; } = [];
}
