using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Plans;

/// <summary>
/// One user's usage in one month (<c>usage_months</c>, id <c>user|yyyy-MM</c>): counters, the current rate window's count, the
/// reservations of requests in flight and the latest finished request of each of <see cref="QuotaLedger.RecentSlots"/>
/// slots. Admitting a request (rate, quota and its reservation) is then one conditional update of this one document,
/// and settling it another, while the document stays bounded however many requests the month has.
/// </summary>
[BsonIgnoreExtraElements]
public sealed class UsageDocument
{
    // Element names, for updates built as strings on the hot path (a lambda is translated on every call).
    internal const string UserIdField = "userId", MonthField = "month", PlanField = "plan", RequestsField = "requests",
        ReservedTokensField = "reservedTokens", UsedTokensField = "usedTokens", CommittedTokensField = "committedTokens", RateWindowField = "rw", SweptField = "swept";

    [BsonId]
    public string Id { get; set; } = "";

    [BsonElement(UserIdField)]
    public string UserId { get; set; } = "";

    [BsonElement(MonthField)]
    public string Month { get; set; } = "";

    [BsonElement(PlanField)]
    public string Plan { get; set; } = "";

    [BsonElement(RequestsField)]
    public long Requests { get; set; }

    /// <summary>Estimated tokens of admitted requests not yet settled.</summary>
    [BsonElement(ReservedTokensField)]
    public long ReservedTokens { get; set; }

    /// <summary>Actual tokens of settled requests.</summary>
    [BsonElement(UsedTokensField)]
    public long UsedTokens { get; set; }

    /// <summary>Reserved plus used: what the token quota is checked against.</summary>
    [BsonElement(CommittedTokensField)]
    public long CommittedTokens { get; set; }

    /// <summary>By slot (a hash of the request id): the last request settled or given back in it.</summary>
    [BsonElement("recent")]
    public Dictionary<string, RecentAdmission> Recent { get; set; } = [];

    /// <summary>By requestId: the reservations of admitted requests not settled or given back yet.</summary>
    [BsonElement("open")]
    public Dictionary<string, OpenReservation> Open { get; set; } = [];

    /// <summary>
    /// By requestId: the tokens the orphan sweep charged for a reservation whose worker died owing its settlement. That
    /// worker's settlement, were it only stuck and sent after all, finds it here and charges nothing more. One entry per
    /// orphan (a worker dying with settlements owed), so it stays small.
    /// </summary>
    [BsonElement(SweptField)]
    public Dictionary<string, long> Swept { get; set; } = [];

    /// <summary>The latest rate window the user was counted in, and its count; null before the first.</summary>
    [BsonElement(RateWindowField)]
    [BsonIgnoreIfNull]
    public RateWindowCount? RateWindow { get; set; }
}
