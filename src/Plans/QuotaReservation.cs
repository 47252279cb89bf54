namespace Vocab.Plans;

/// <summary>What one admission reserved: the month's usage document it lives in, the request and its tokens.</summary>
public sealed record QuotaReservation(string UsageId, Guid RequestId, long Tokens)
{
    /// <summary>The month (<c>yyyy-MM</c>) the request was counted in.</summary>
    public string Month => UsageId[(UsageId.LastIndexOf('|') + 1)..];
}
