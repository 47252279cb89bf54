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

    private static Task<HttpResponseMessage> GetAsync(HttpClient client, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/vocabularies");
        request.Headers.Add(VocabHeaders.ApiKey, key);
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
