using Vocab.Contracts;

namespace Vocab.Plans;

/// <summary>
/// What the plan says of a request: admitted (with the plan and its rate), or refused with a reason from
/// <see cref="RejectionReasons"/> (<c>forbidden</c>, <c>rate_limited</c>, <c>quota_exceeded</c>) and when to come back. An
/// admitted request carries its <see cref="Reservation"/>, to settle or give back. <see cref="InFlight"/>: the requestId
/// is admitted already and not finished (neither admitted nor refused: the caller decides whether to wait or take over).
/// <see cref="RecentlyFinished"/>: admitted just after another attempt of the same requestId finished (its answer may be stored).
/// </summary>
public sealed record AdmissionDecision(Plan? Plan, string? RefusalReason, string? Detail, RateDecision? Rate, DateTimeOffset? QuotaResetsAt,
    QuotaReservation? Reservation = null, InFlightRequest? InFlight = null, bool RecentlyFinished = false)
{
    public bool Admitted => RefusalReason is null && InFlight is null;

    public static AdmissionDecision Refused(string reason, string detail, Plan? plan = null, RateDecision? rate = null, DateTimeOffset? resetsAt = null) =>
        new(plan, reason, detail, rate, resetsAt);
}
