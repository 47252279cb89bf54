namespace Vocab.Plans;

/// <summary>
/// Whether a request fits the month's quota (and the plan's rate, when one was asked): admitted with the
/// <see cref="Reservation"/> to settle or give back, or refused; <see cref="ResetsAt"/> says when the month resets,
/// <see cref="Rate"/> what the rate headers say. <see cref="InFlight"/>: not admitted because the requestId is admitted
/// already and not finished (only when the admission claims it: another delivery holds it, or held it and stopped).
/// <see cref="RecentlyFinished"/>: admitted again just after an attempt of the same requestId finished (its answer may be stored).
/// </summary>
public sealed record QuotaDecision(bool Admitted, DateTimeOffset ResetsAt, QuotaReservation? Reservation = null, RateDecision? Rate = null,
    InFlightRequest? InFlight = null, bool RecentlyFinished = false);
