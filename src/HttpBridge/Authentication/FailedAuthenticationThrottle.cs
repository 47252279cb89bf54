using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Vocab.HttpBridge.Authentication;

/// <summary>
/// Limits failed authentications per client address, checked before any credential lookup, so a flood of junk
/// credentials costs neither MongoDB queries nor memory. Addresses share a fixed number of sliding windows (IPv6 by /64),
/// which bounds the state whatever the number of addresses; only failures count against a window.
/// </summary>
public sealed class FailedAuthenticationThrottle : IDisposable
{
    /// <summary>How many windows addresses are spread over: the bound on the throttle's memory.</summary>
    public const int BucketCount = 16_384;

    private readonly PartitionedRateLimiter<int> _limiter;
    private readonly TimeSpan _window = TimeSpan.FromMinutes(1);

    public FailedAuthenticationThrottle(IOptions<BridgeOptions> options)
    {
        var permits = options.Value.FailedAuthenticationsPerMinute;
        _limiter = PartitionedRateLimiter.Create<int, int>(bucket => RateLimitPartition.GetSlidingWindowLimiter(bucket, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = _window,
            SegmentsPerWindow = 6,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Whether this address may still try; when not, how long until it may.</summary>
    public bool MayTry(IPAddress? address, out TimeSpan retryAfter)
    {
        // Asking for no permit tells whether any is left without taking one.
        using var lease = _limiter.AttemptAcquire(BucketOf(address), 0);
        retryAfter = lease.IsAcquired ? TimeSpan.Zero
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : _window / 6;
        return lease.IsAcquired;
    }

    /// <summary>Counts one failed authentication against the address.</summary>
    public void RecordFailure(IPAddress? address)
    {
        using var _ = _limiter.AttemptAcquire(BucketOf(address));
    }

    /// <inheritdoc />
    public void Dispose() => _limiter.Dispose();

    private static int BucketOf(IPAddress? address)
    {
        if (address is null)
            return 0;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        // One IPv6 client usually owns a whole /64: count it as one address.
        var significant = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? bytes.AsSpan(0, 8) : bytes;
        var hash = new HashCode();
        hash.AddBytes(significant);
        return (int)((uint)hash.ToHashCode() % BucketCount);
    }
}
