using Vocab.Worker.Filters;

namespace Vocab.Worker.Outcome;

/// <summary>
/// What a delivery holds while its request is produced: the lease on the requestId and, once the plan admitted it, a
/// reservation against the caller's quota. Taken by <see cref="RequestAdmissionFilter{T}"/> and kept on the receive
/// context for <see cref="RequestOutcomeFilter{T}"/>, which ends both when the message's outcome is known.
/// </summary>
public sealed class RequestHold(RequestLease lease, string userId, Guid requestId)
{
    public RequestLease Lease { get; } = lease;

    public string UserId { get; } = userId;

    public Guid RequestId { get; } = requestId;

    /// <summary>Set once the plan admitted the request: its reservation, live until settled or given back.</summary>
    public AdmittedRequest? Admitted { get; private set; }

    /// <summary>True once the plan admitted the request (the request is counted).</summary>
    public bool Reserved => Admitted is not null;

    /// <summary>Records the plan's admission.</summary>
    public void MarkReserved(AdmittedRequest admitted)
    {
        Admitted = admitted;
        Lease.MarkCounted(admitted.Month);
    }
}
