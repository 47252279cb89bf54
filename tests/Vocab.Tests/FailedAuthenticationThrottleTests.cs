using System.Net;
using System.Net.Sockets;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>The bridge stops looking up credentials for an address that keeps failing, and only for that address.</summary>
public sealed class FailedAuthenticationThrottleTests(BridgeFixture fixture) : IClassFixture<BridgeFixture>
{
    private const int Limit = 5;

    [Fact]
    public async Task Address_ThatKeepsFailing_Gets429WithRetryAfterWhileOthersAreServed()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["Bridge:FailedAuthenticationsPerMinute"] = $"{Limit}",
        }));
        var (_, validKey) = await fixture.CreateApiKeyAsync("throttle-neighbour");
        using var attacker = ClientFrom(bridge, "127.0.0.2");
        using var neighbour = ClientFrom(bridge, "127.0.0.3");

        var unauthorized = 0;
        HttpResponseMessage throttled;
        while ((throttled = await GetAsync(attacker, ApiKeyFormat.Generate().Key)).StatusCode == HttpStatusCode.Unauthorized && unauthorized <= Limit + 1)
            unauthorized++;
        var throttledEvenWithAGoodKey = await GetAsync(attacker, validKey);
        var neighbourJunk = await GetAsync(neighbour, ApiKeyFormat.Generate().Key);
        var neighbourGood = await GetAsync(neighbour, validKey);

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal(Limit, unauthorized);
        Assert.True(throttled.Headers.RetryAfter?.Delta > TimeSpan.Zero, "a throttled caller is told when to come back");
        Assert.Equal(HttpStatusCode.TooManyRequests, throttledEvenWithAGoodKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, neighbourJunk.StatusCode);
        Assert.Equal(HttpStatusCode.OK, neighbourGood.StatusCode);
        Assert.DoesNotContain(bridge.Logs.Lines, l => l.Contains(validKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForwardedFor_IsHonouredFromTrustedProxiesOnly()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["Bridge:FailedAuthenticationsPerMinute"] = "2",
            ["Bridge:TrustedProxies:0"] = "127.0.0.4",
        }));
        using var proxy = ClientFrom(bridge, "127.0.0.4");
        using var untrusted = ClientFrom(bridge, "127.0.0.5");

        // Behind the trusted proxy, each forwarded client has its own count.
        var first = new[] { await GetAsync(proxy, Junk(), "192.0.2.7"), await GetAsync(proxy, Junk(), "192.0.2.7"), await GetAsync(proxy, Junk(), "192.0.2.7") };
        var other = await GetAsync(proxy, Junk(), "192.0.2.8");
        // Anyone else's X-Forwarded-For is ignored: rotating it does not escape the throttle.
        var spoofed = new[] { await GetAsync(untrusted, Junk(), "192.0.2.20"), await GetAsync(untrusted, Junk(), "192.0.2.21"), await GetAsync(untrusted, Junk(), "192.0.2.22") };

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], first.Select(r => r.StatusCode));
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], spoofed.Select(r => r.StatusCode));
    }

    private static string Junk() => ApiKeyFormat.Generate().Key;

    private static Task<HttpResponseMessage> GetAsync(HttpClient client, string key, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/vocabularies");
        request.Headers.Add(VocabHeaders.ApiKey, key);
        if (forwardedFor is not null)
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        return client.SendAsync(request);
    }

    /// <summary>A client whose connections come from another loopback address, as a second machine's would.</summary>
    private static HttpClient ClientFrom(BridgeHost bridge, string localAddress) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    }) { BaseAddress = bridge.Client.BaseAddress };
}
