namespace Vocab.Plans;

/// <summary>
/// Whether a request fits the month's quota (and the plan's rate, when one was asked): admitted with the
/// <see cref="Reservation"/> to settle or give back, or refused; <see cref="ResetsAt"/> says when the month resets,
/// <see cref="Rate"/> what the rate headers say.
/// </summary>
public sealed record QuotaDecision(bool Admitted, DateTimeOffset ResetsAt, QuotaReservation? Reservation = null, RateDecision? Rate = null);
