using System.Net;
using Microsoft.Extensions.Time.Testing;
using Vocab.Authentication;
using Vocab.HttpBridge;

namespace Vocab.Tests.Identity;

/// <summary>The throttle's per-address state: exact per address (IPv6 per /64), sliding with time, bounded under a flood.</summary>
public sealed class ThrottleStateTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    private FailedAuthenticationThrottle Throttle(int permits, int capacity = 100, params string[] trusted) =>
        new(permits, capacity, new BridgeOptions { TrustedClients = trusted }.TrustedClientNetworks(), _time);

    private static int Allowed(FailedAuthenticationThrottle throttle, IPAddress address, int attempts) =>
        Enumerable.Range(0, attempts).Count(_ => throttle.TryRecordGuess(address, out TimeSpan _));

    [Fact]
    public void Addresses_HaveWindowsOfTheirOwn_AndIPv6CountsPerSlash64()
    {
        var throttle = Throttle(permits: 3);

        var first = Allowed(throttle, IPAddress.Parse("192.0.2.1"), 10);
        var second = Allowed(throttle, IPAddress.Parse("192.0.2.2"), 10);
        var v6 = Allowed(throttle, IPAddress.Parse("2001:db8:1:2::1"), 2) + Allowed(throttle, IPAddress.Parse("2001:db8:1:2:ffff::9"), 10);
        var otherV6 = Allowed(throttle, IPAddress.Parse("2001:db8:1:3::1"), 10);
        var mapped = Allowed(throttle, IPAddress.Parse("::ffff:192.0.2.1"), 1);

        Assert.Equal((3, 3, 3, 3, 0), (first, second, v6, otherV6, mapped));
    }

    [Fact]
    public void Window_Slides_AndRetryAfterSaysWhen()
    {
        var throttle = Throttle(permits: 6);
        var address = IPAddress.Parse("192.0.2.9");

        Allowed(throttle, address, 3);
        _time.Advance(TimeSpan.FromSeconds(30));
        Allowed(throttle, address, 3);
        var refused = throttle.TryRecordGuess(address, out var retryAfter);
        _time.Advance(retryAfter);
        var afterWait = throttle.TryRecordGuess(address, out _);

        Assert.False(refused);
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40));
        Assert.True(afterWait, "the first guesses slid out of the window");
    }

    [Fact]
    public void Flood_OfDistinctAddresses_StaysWithinTheBound_AndTheNewestAreStillExact()
    {
        const int capacity = 1_000;
        var throttle = Throttle(permits: 2, capacity);

        for (var i = 0; i < 200_000; i++)
            throttle.TryRecordGuess(new IPAddress(BitConverter.GetBytes(0x0A000000 + i).Reverse().ToArray()), out _);
        var attacker = IPAddress.Parse("198.51.100.1");
        var allowed = Allowed(throttle, attacker, 5);
        for (var i = 0; i < capacity - 1; i++)
            throttle.TryRecordGuess(IPAddress.Parse($"2001:db8:{i:x}::1"), out _);
        var stillLimited = throttle.TryRecordGuess(attacker, out _);

        Assert.True(throttle.Count <= capacity, $"{throttle.Count} addresses held");
        Assert.Equal(2, allowed);
        Assert.False(stillLimited, "an address recently seen is kept while older ones go");
    }

    [Fact]
    public void TrustedClients_AreAddressesOrNetworks()
    {
        var throttle = Throttle(2, 100, "10.1.0.0/16", "192.0.2.5", "2001:db8::/32");

        Assert.True(throttle.IsTrusted(IPAddress.Parse("10.1.200.3")));
        Assert.True(throttle.IsTrusted(IPAddress.Parse("::ffff:10.1.0.1")));
        Assert.True(throttle.IsTrusted(IPAddress.Parse("192.0.2.5")));
        Assert.True(throttle.IsTrusted(IPAddress.Parse("2001:db8:ff::1")));
        Assert.False(throttle.IsTrusted(IPAddress.Parse("10.2.0.1")));
        Assert.False(throttle.IsTrusted(IPAddress.Parse("192.0.2.6")));
        Assert.False(throttle.IsTrusted(null));
    }
}
