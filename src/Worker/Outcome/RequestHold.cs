using Vocab.Worker.Filters;

namespace Vocab.Worker.Outcome;

/// <summary>
/// What a delivery holds while its request is produced: the request's reservation against the caller's quota, and
/// with it the lease on the requestId. Taken by <see cref="RequestAdmissionFilter{T}"/> and kept on the receive context
/// for <see cref="RequestOutcomeFilter{T}"/>, which ends them when the message's outcome is known.
/// </summary>
public sealed class RequestHold(RequestLease lease, string userId, Guid requestId, string fingerprint, AdmittedRequest admitted)
{
    public RequestLease Lease { get; } = lease;

    public string UserId { get; } = userId;

    public Guid RequestId { get; } = requestId;

    /// <summary>What was asked under the requestId: a failure record keeps it, so a resend with another body is refused.</summary>
    public string Fingerprint { get; } = fingerprint;

    /// <summary>The plan's admission: its reservation, live until settled or given back.</summary>
    public AdmittedRequest Admitted { get; } = admitted;
}
