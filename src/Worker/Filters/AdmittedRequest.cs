using Vocab.Plans;
using Vocab.Vocabularies;

namespace Vocab.Worker.Filters;

/// <summary>
/// The record that the request was admitted under this plan, shared by the consumer (which settles the reservation) and
/// the outcome filter (which gives back one still held). <see cref="NothingStored"/> when nothing was stored under the
/// requestId when it was admitted; <see cref="LookedUp"/> what the admission's lookup found for its question (reuse).
/// </summary>
public sealed class AdmittedRequest(Plan plan, QuotaReservation reservation, RequestClaimTerms claim, bool nothingStored, RequestLookup? lookedUp)
{
    public Plan Plan { get; } = plan;

    /// <summary>What the admission claimed the requestId with: a reservation taken again claims it the same way.</summary>
    public RequestClaimTerms Claim { get; } = claim;

    public bool NothingStored { get; } = nothingStored;

    /// <summary>The admission's lookup (its reusable answer, if any): the first call's reuse needs no lookup of its own.</summary>
    public RequestLookup? LookedUp { get; } = lookedUp;

    /// <summary>The month the request was counted in.</summary>
    public string Month { get; } = reservation.Month;

    /// <summary>The live reservation; null once settled (an attempt that then fails to store must reserve again to call again).</summary>
    public QuotaReservation? Reservation { get; private set; } = reservation;

    /// <summary>Records the settlement: nothing is left to give back.</summary>
    public void Settled() => Reservation = null;

    /// <summary>Records a new reservation, taken to call the LLM again.</summary>
    public void Reserved(QuotaReservation reservation) => Reservation = reservation;

    private long _unansweredCallTokens;

    /// <summary>Records a call that timed out (the provider may have billed it): charged with whatever ends the reservation.</summary>
    public void CallUnanswered(long tokens) => Interlocked.Add(ref _unansweredCallTokens, tokens);

    /// <summary>The tokens of the calls that timed out since the last charge, left in place (the fair share's charge reads them).</summary>
    public long UnansweredCallTokens => Interlocked.Read(ref _unansweredCallTokens);

    /// <summary>The tokens of the calls that timed out since the last charge, once: the settlement or give-back charges them.</summary>
    public long TakeUnansweredCallTokens() => Interlocked.Exchange(ref _unansweredCallTokens, 0);
}
