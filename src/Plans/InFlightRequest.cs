namespace Vocab.Plans;

/// <summary>
/// A request already admitted and not finished, found by a later admission of its requestId: its reservation, the
/// fingerprint it was admitted with, and who holds its lease until when (null: nobody; the lease was not taken).
/// </summary>
public sealed record InFlightRequest(QuotaReservation Reservation, string? Fingerprint, string? Owner, DateTime? LeaseUntil);
