using Vocab.Plans;

namespace Vocab.Worker.Filters;

/// <summary>
/// The record that the request was admitted under this plan, shared by the consumer (which settles the reservation) and
/// the outcome filter (which gives back one still held). <see cref="NothingStored"/> when this delivery claimed the
/// requestId first, so no answer can be stored under it.
/// </summary>
public sealed class AdmittedRequest(Plan plan, QuotaReservation reservation, bool nothingStored)
{
    public Plan Plan { get; } = plan;

    public bool NothingStored { get; } = nothingStored;

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

    /// <summary>The tokens of the calls that timed out since the last charge, once: the settlement or give-back charges them.</summary>
    public long TakeUnansweredCallTokens() => Interlocked.Exchange(ref _unansweredCallTokens, 0);
}
