using Vocab.Plans;

namespace Vocab.HttpBridge.Endpoints;

/// <summary>
/// Gives back what the bridge's admission reserved for a request no worker answered here (a refusal, a timeout, a fault,
/// a failure to send, the caller gone), unless a worker holds the request now: the bridge takes the request's lease first,
/// so it never ends a reservation a worker admitted on (that worker settles or gives it back itself). The claim then
/// records the counting, so a later attempt reserves again without being counted again.
/// </summary>
internal static class UnservedRequestGiveBack
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(RequestClaims claims, QuotaLedger quotas, QuotaReservation reservation)
    {
        var owner = $"bridge-{Guid.NewGuid():N}";
        if (!await claims.TryLeaseAsync(reservation.RequestId, owner, Lease, CancellationToken.None))
            return;
        try
        {
            await quotas.ReleaseAsync(reservation, CancellationToken.None);
        }
        finally
        {
            await claims.ReleaseAsync(reservation.RequestId, owner, reservation.Month, CancellationToken.None);
        }
    }
}
