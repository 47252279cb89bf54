namespace Vocab.Plans;

/// <summary>
/// A served request's settlement, owed since <paramref name="DeferredAt"/>: its reservation ends, charging
/// <paramref name="ChargedTokens"/>. <paramref name="Uncertain"/>: an update carrying it failed without saying whether it
/// applied, so it is sent again only where it is still open (a second charge would be worse than none).
/// </summary>
public sealed record DeferredSettlement(QuotaReservation Reservation, long ChargedTokens, DateTimeOffset DeferredAt, bool Uncertain = false);
