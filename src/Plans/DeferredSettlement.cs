namespace Vocab.Plans;

/// <summary>A served request's settlement, owed since <paramref name="DeferredAt"/>: its reservation ends, charging <paramref name="ChargedTokens"/>.</summary>
public sealed record DeferredSettlement(QuotaReservation Reservation, long ChargedTokens, DateTimeOffset DeferredAt);
