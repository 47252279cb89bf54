using System.Net;
using System.Net.Sockets;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// The bridge answers 429 to an address that keeps guessing, and only to its guesses: a valid credential from it is served,
/// failures that prove a genuine credential (expired, revoked, forbidden) never count, other addresses are unaffected.
/// </summary>
public sealed class FailedAuthenticationThrottleTests(BridgeFixture fixture) : IClassFixture<BridgeFixture>
{
    private const int Limit = 5;

    [Fact]
    public async Task Address_ThatKeepsGuessing_Gets429WithRetryAfter_YetAValidKeyFromItIsServed()
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
        var stillThrottled = await GetAsync(attacker, ApiKeyFormat.Generate().Key);
        var neighbourJunk = await GetAsync(neighbour, ApiKeyFormat.Generate().Key);
        var neighbourGood = await GetAsync(neighbour, validKey);

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal(Limit, unauthorized);
        Assert.True(throttled.Headers.RetryAfter?.Delta > TimeSpan.Zero, "a throttled caller is told when to come back");
        Assert.Equal(HttpStatusCode.OK, throttledEvenWithAGoodKey.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, stillThrottled.StatusCode);
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

    [Fact]
    public async Task FortyExpiredUserTokens_ThenAValidKey_FromOneAddress_Is200()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["Bridge:FailedAuthenticationsPerMinute"] = "30",
        }));
        var (_, validKey) = await fixture.CreateApiKeyAsync("throttle-backend");
        using var backend = ClientFrom(bridge, "127.0.0.7");

        var expired = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
            expired.Add((await GetWithBearerAsync(backend, fixture.Tokens.Hs256($"backend-user-{i}", expires: DateTime.UtcNow.AddMinutes(-5)))).StatusCode);
        var valid = await GetAsync(backend, validKey);

        Assert.All(expired, status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
    }

    [Fact]
    public async Task EightyGuessedKeys_FromOneAddress_Get429_WhileAnotherAddressIsUnaffected()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["Bridge:FailedAuthenticationsPerMinute"] = "30",
        }));
        var (_, validKey) = await fixture.CreateApiKeyAsync("throttle-other");
        using var guesser = ClientFrom(bridge, "127.0.0.8");
        using var other = ClientFrom(bridge, "127.0.0.9");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 80; i++)
            statuses.Add((await GetAsync(guesser, Junk())).StatusCode);
        var otherGuess = await GetAsync(other, Junk());
        var otherValid = await GetAsync(other, validKey);

        Assert.Equal(30, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(50, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.All(statuses.Skip(30), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        Assert.Equal(HttpStatusCode.Unauthorized, otherGuess.StatusCode);
        Assert.Equal(HttpStatusCode.OK, otherValid.StatusCode);
    }

    [Fact]
    public async Task TrustedClient_IsNeverThrottled_WhileAnUntrustedNeighbourIs()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["Bridge:FailedAuthenticationsPerMinute"] = "2",
            ["Bridge:TrustedClients:0"] = "127.0.0.10/31",
        }));
        using var backend = ClientFrom(bridge, "127.0.0.11");
        using var outsider = ClientFrom(bridge, "127.0.0.12");

        var backendStatuses = new List<HttpStatusCode>();
        var outsiderStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            backendStatuses.Add((await GetAsync(backend, Junk())).StatusCode);
            outsiderStatuses.Add((await GetAsync(outsider, Junk())).StatusCode);
        }

        Assert.All(backendStatuses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, outsiderStatuses[^1]);
    }

    private static Task<HttpResponseMessage> GetWithBearerAsync(HttpClient client, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/vocabularies");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
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
