namespace Vocab.Plans;

/// <summary>What one admission reserved: the month's usage document it lives in, the request and its tokens.</summary>
public sealed record QuotaReservation(string UsageId, Guid RequestId, long Tokens)
{
    /// <summary>
    /// The delivery whose lease it is held under, when known: ending it (settling, giving back) then requires that lease, so
    /// a delivery that lost its lease cannot end the reservation another delivery now produces under (its call is charged alone).
    /// </summary>
    public string? Owner { get; init; }

    /// <summary>The month (<c>yyyy-MM</c>) the request was counted in.</summary>
    public string Month => UsageId[(UsageId.LastIndexOf('|') + 1)..];
}
