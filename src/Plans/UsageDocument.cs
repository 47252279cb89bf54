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
        ReservedTokensField = "reservedTokens", UsedTokensField = "usedTokens", CommittedTokensField = "committedTokens", RateWindowField = "rw", ChargedApartField = "chargedApart";

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
    /// By requestId: the tokens charged for a stored answer apart from the end of its reservation, by the orphan sweep
    /// (its worker died, or was stuck, owing the settlement) or by the worker that stored it (another delivery had taken
    /// the reservation's lease). Whichever of the two comes second finds the mark, charges nothing more and removes it, so
    /// a mark stays only where the other never comes (a worker that died owing its settlement, or a delivery that took
    /// the lease and ended the reservation itself): one per such request, in the month's own document.
    /// </summary>
    [BsonElement(ChargedApartField)]
    public Dictionary<string, long> ChargedApart { get; set; } = [];

    /// <summary>The latest rate window the user was counted in, and its count; null before the first.</summary>
    [BsonElement(RateWindowField)]
    [BsonIgnoreIfNull]
    public RateWindowCount? RateWindow { get; set; }
}
