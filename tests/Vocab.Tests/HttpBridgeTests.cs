using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;

using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>The HTTP bridge in front of the real worker, broker and MongoDB.</summary>
public sealed class HttpBridgeTests(BridgeFixture fixture) : IClassFixture<BridgeFixture>
{
    private static readonly object ValidBody = new { transcript = "I love learning new words every day.", sourceLanguage = "en", targetLanguage = "ko", maxItems = 5 };

    private HttpClient Client => fixture.Bridge.Client;

    private static HttpRequestMessage Post(string videoId, object body, string? apiKey = null, string? bearer = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/{videoId}/vocabulary") { Content = JsonContent.Create(body) };
        if (apiKey is not null)
            request.Headers.Add(VocabHeaders.ApiKey, apiKey);
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return request;
    }

    private static HttpRequestMessage Get(string path, string apiKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(VocabHeaders.ApiKey, apiKey);
        return request;
    }

    private static async Task<JsonElement> AssertProblem(HttpResponseMessage response, HttpStatusCode status, params string[] mustNotContain)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        foreach (var secret in mustNotContain)
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.True(json.TryGetProperty("traceId", out _));
        return json;
    }

    [Fact]
    public async Task Post_WithValidKey_Returns200WithVocabulary()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("http-valid");
        var response = await Client.SendAsync(Post("video-http-1", ValidBody, apiKey: key));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<VocabularyGenerated>();
        Assert.Equal("http-valid", body!.UserId);
        Assert.Equal("video-http-1", body.VideoId);
        Assert.Equal(3, body.Items.Count);
        Assert.DoesNotContain(fixture.Bridge.Logs.Lines, l => l.Contains(key, StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Logs.Lines, l => l.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Post_WithValidJwt_Returns200()
    {
        var response = await Client.SendAsync(Post("video-http-jwt", ValidBody, bearer: fixture.Tokens.Hs256("http-jwt")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Post_WithoutCredential_Returns401WithChallengeAndGenericBody()
    {
        var response = await Client.SendAsync(Post("v", ValidBody));
        var problem = await AssertProblem(response, HttpStatusCode.Unauthorized, "missing", "X-API-Key header");
        Assert.Equal("Unauthorized", problem.GetProperty("title").GetString());
        Assert.NotEmpty(response.Headers.WwwAuthenticate);
    }

    [Theory]
    [InlineData("unknown")]
    [InlineData("expired-key")]
    [InlineData("expired-jwt")]
    [InlineData("bad-signature")]
    public async Task Post_WithBadCredential_Returns401WithoutDetail(string kind)
    {
        var request = kind switch
        {
            "unknown" => Post("v", ValidBody, apiKey: ApiKeyFormat.Generate().Key),
            "expired-key" => Post("v", ValidBody, apiKey: (await fixture.CreateApiKeyAsync("http-expired", expiresAt: DateTime.UtcNow.AddMinutes(-1))).Key),
            "expired-jwt" => Post("v", ValidBody, bearer: fixture.Tokens.Hs256("http-expired-jwt", expires: DateTime.UtcNow.AddMinutes(-5))),
            _ => Post("v", ValidBody, bearer: fixture.Tokens.Hs256("http-bad-sig", secret: "another-secret-that-is-long-enough-for-hs256-xyz")),
        };
        var callsBefore = fixture.Llm.CallCount;

        var response = await Client.SendAsync(request);

        await AssertProblem(response, HttpStatusCode.Unauthorized, "expired", "signature", "unknown", "Exception");
        Assert.NotEmpty(response.Headers.WwwAuthenticate);
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
    }

    [Fact]
    public async Task Post_WithRoleNotAllowed_Returns403()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("http-guest", role: "guest");
        await AssertProblem(await Client.SendAsync(Post("v", ValidBody, apiKey: key)), HttpStatusCode.Forbidden, "guest", "role");
    }

    [Fact]
    public async Task Post_WithRevokedKey_IsRefusedByTheBridge()
    {
        var (keyId, key) = await fixture.CreateApiKeyAsync("http-revoked");
        await fixture.Services.GetRequiredService<ApiKeyStore>().RevokeAsync(keyId, DateTime.UtcNow, default);
        var callsBefore = fixture.Llm.CallCount;
        await AssertProblem(await Client.SendAsync(Post("v", ValidBody, apiKey: key)), HttpStatusCode.Unauthorized, "revoked");
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
    }

    [Fact]
    public async Task Post_TokenRevokedAfterBridgeCachedIt_WorkerRefusesAndBridgeReturns401NotTimeout()
    {
        var jti = Guid.NewGuid().ToString("N");
        var token = fixture.Tokens.Hs256("http-race", jti: jti);
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Post("v-race", ValidBody, bearer: token))).StatusCode);

        await fixture.Services.GetRequiredService<TokenBlacklist>().RevokeAsync(jti, DateTime.UtcNow.AddHours(1), DateTime.UtcNow, default);
        await Task.Delay(TimeSpan.FromSeconds(1.2)); // the worker's bound; the bridge still has it cached as good
        var watch = Stopwatch.StartNew();
        var response = await Client.SendAsync(Post("v-race", ValidBody, bearer: token));

        await AssertProblem(response, HttpStatusCode.Unauthorized, "revoked");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("""{"transcript":"t","sourceLanguage":"en","targetLanguage":"ko","maxItems":500}""")]
    [InlineData("""{"transcript":"","sourceLanguage":"en","targetLanguage":"ko"}""")]
    [InlineData("""{"transcript":"t","sourceLanguage":"e n","targetLanguage":"ko"}""")]
    [InlineData("""{"transcript": """)]
    public async Task Post_WithInvalidBody_Returns400(string body)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"http-invalid-{Guid.NewGuid():N}");
        var request = new HttpRequestMessage(HttpMethod.Post, "/videos/v/vocabulary") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(VocabHeaders.ApiKey, key);
        var callsBefore = fixture.Llm.CallCount;

        var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("Exception", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
    }

    [Fact]
    public async Task Reads_AreScopedToTheCaller()
    {
        var (_, alice) = await fixture.CreateApiKeyAsync("http-alice");
        var (_, bob) = await fixture.CreateApiKeyAsync("http-bob");
        var video = $"video-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Post(video, ValidBody, apiKey: alice))).StatusCode);

        var aliceRead = await Client.SendAsync(Get($"/videos/{video}/vocabulary", alice));
        Assert.Equal(HttpStatusCode.OK, aliceRead.StatusCode);
        Assert.Equal("http-alice", (await aliceRead.Content.ReadFromJsonAsync<VocabularyGenerated>())!.UserId);

        await AssertProblem(await Client.SendAsync(Get($"/videos/{video}/vocabulary", bob)), HttpStatusCode.NotFound);
        var bobList = JsonDocument.Parse(await (await Client.SendAsync(Get("/vocabularies?page=1&pageSize=50", bob))).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(0, bobList.GetProperty("items").GetArrayLength());
        var aliceList = JsonDocument.Parse(await (await Client.SendAsync(Get("/vocabularies", alice))).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(video, aliceList.GetProperty("items")[0].GetProperty("videoId").GetString());
    }

    [Fact]
    public async Task List_WithBadPaging_Returns400()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("http-paging");
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.SendAsync(Get("/vocabularies?page=0", key))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.SendAsync(Get("/vocabularies?pageSize=1000", key))).StatusCode);
        // Far pages would overflow the offset (a 500 and an error logged): refused as bad input.
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.SendAsync(Get($"/vocabularies?page={int.MaxValue}", key))).StatusCode);
    }

    [Fact]
    public async Task Body_LargerThanAnyValidRequest_Is413_BeforeItIsRead()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("http-large-body");
        var transcript = new string('a', (int)Vocab.HttpBridge.Extensions.BridgeExtensions.MaxRequestBodyBytes + 1);

        var response = await Client.SendAsync(Post("large", new { transcript, sourceLanguage = "en", targetLanguage = "ko", maxItems = 3 }, key));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("/vocabularies")]
    [InlineData("/usage")] // a MongoDB read per call: unlimited, one key could keep the database busy
    public async Task ManyRequests_FromOneUser_Return429WithRetryAfter(string path)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"http-rate-{path.Trim('/')}");
        HttpResponseMessage? last = null;
        for (var i = 0; i <= BridgeFixture.PermitsPerMinute; i++)
            last = await Client.SendAsync(Get(path, key));

        await AssertProblem(last!, HttpStatusCode.TooManyRequests);
        Assert.NotNull(last!.Headers.RetryAfter);
        var (_, other) = await fixture.CreateApiKeyAsync($"http-rate-other-{path.Trim('/')}");
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Get(path, other))).StatusCode);
    }

    [Fact]
    public async Task AnAnswerAboutAnotherRequest_IsNotPassedOn()
    {
        // Something on the request queue answers with MassTransit's RequestId right (what MassTransit matches on), but about
        // another request of another user: the caller must not get that user's list.
        var queue = $"impostor-{Guid.NewGuid():N}";
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var impostor = fixture.Publisher.ConnectReceiveEndpoint(queue, e => e.Handler<GenerateVocabulary>(async context =>
        {
            // Marked before it answers: the bridge can turn the answer into its 503 before this handler resumes.
            answered.TrySetResult();
            await context.RespondAsync(new VocabularyGenerated
            {
                RequestId = Guid.NewGuid(), VideoId = context.Message.VideoId, UserId = "someone-else",
                Items = [new VocabularyItem { Word = "secret-word", Meaning = "x" }],
            });
        }));
        await impostor.Ready;
        try
        {
            await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?> { ["Bridge:QueueName"] = queue }));
            await bridge.WaitUntilReadyAsync();
            var (_, key) = await fixture.CreateApiKeyAsync("http-impostor");

            var response = await bridge.Client.SendAsync(Post("v", ValidBody, apiKey: key));

            Assert.True(answered.Task.IsCompleted);
            var body = await response.Content.ReadAsStringAsync();
            await AssertProblem(response, HttpStatusCode.ServiceUnavailable);
            Assert.DoesNotContain("secret-word", body, StringComparison.Ordinal);
            Assert.DoesNotContain("someone-else", body, StringComparison.Ordinal);
        }
        finally
        {
            await impostor.StopAsync();
        }
    }

    [Fact]
    public async Task Post_WhenNoWorkerAnswers_Returns504WithinTimeout()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["Bridge:QueueName"] = "nobody-consumes-this",
            ["Bridge:RequestTimeout"] = "00:00:01",
        }));
        await bridge.WaitUntilReadyAsync();
        var (_, key) = await fixture.CreateApiKeyAsync("http-timeout");
        var watch = Stopwatch.StartNew();

        var response = await bridge.Client.SendAsync(Post("v", ValidBody, apiKey: key));

        await AssertProblem(response, HttpStatusCode.GatewayTimeout);
        // Well under the test bridge's request timeout (20 s): a cold host on a loaded machine may take seconds on top of the 1 s.
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
    }

    /// <summary>
    /// A broker gone silent (its connection open, nothing coming back: a stalled node, a partition) must not hold a
    /// caller past the request timeout: the send waits for a confirmation that never comes. While that send is stuck the
    /// bridge answers 503 at once rather than holding each caller for the timeout, and serves again once the broker is back.
    /// </summary>
    [Fact]
    public async Task Post_WhenTheBrokerGoesSilent_Returns504WithinTheRequestTimeout_Then503UntilItIsBack()
    {
        var broker = fixture.VirtualHost.AmqpUri;
        var proxy = new PausableTcpProxy(broker.Host, broker.Port);
        // Disposed in this order: the bridge's bus stops through a proxy passing bytes again.
        await using var _ = proxy;
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = new UriBuilder(broker) { Port = proxy.Port }.Uri.ToString(),
            ["Bridge:RequestTimeout"] = "00:00:02",
            ["Bridge:PermitsPerMinute"] = "10000",
        }));
        await bridge.WaitUntilReadyAsync();
        var (_, key) = await fixture.CreateApiKeyAsync("http-silent-broker");
        Assert.Equal(HttpStatusCode.OK, (await bridge.Client.SendAsync(Post("silent-before", ValidBody, apiKey: key))).StatusCode);

        proxy.Pause();
        try
        {
            // Far past the 2 s timeout and its 1 s grace: a call still open then is one the bridge never ends.
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(45));
            var watch = Stopwatch.StartNew();
            await AssertProblem(await bridge.Client.SendAsync(Post("silent-during", ValidBody, apiKey: key), patience.Token), HttpStatusCode.GatewayTimeout);
            Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));

            // The stuck send is known: the next caller is told at once, not after another timeout.
            await AssertProblem(await bridge.Client.SendAsync(Post("silent-next", ValidBody, apiKey: key), patience.Token), HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            proxy.Resume();
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpStatusCode status;
        do
        {
            status = (await bridge.Client.SendAsync(Post("silent-after", ValidBody, apiKey: key))).StatusCode;
            if (status != HttpStatusCode.OK)
                await Task.Delay(250);
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task MongoDown_Returns503AndNotReady()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Mongo"] = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500&connectTimeoutMS=500",
            ["Authentication:CacheDuration"] = "00:00:00",
        }));

        var response = await bridge.Client.SendAsync(Post("v", ValidBody, apiKey: ApiKeyFormat.Generate().Key));
        await AssertProblem(response, HttpStatusCode.ServiceUnavailable, "mongo", "127.0.0.1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await bridge.Client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task BrokerDown_Returns503AndNotReady()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/",
        }));
        var (_, key) = await fixture.CreateApiKeyAsync("http-broker-down");
        var watch = Stopwatch.StartNew();

        var response = await bridge.Client.SendAsync(Post("v", ValidBody, apiKey: key));

        await AssertProblem(response, HttpStatusCode.ServiceUnavailable, "rabbit", "127.0.0.1", "amqp");
        // Told at once, not after the test bridge's request timeout (20 s): the first request of a cold host, so not tighter.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"answered after {watch.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await bridge.Client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Health_AndOpenApi_Answer()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health/ready")).StatusCode);
        var openApi = await Client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/videos/{videoId}/vocabulary", openApi, StringComparison.Ordinal);
        Assert.Contains("/vocabularies", openApi, StringComparison.Ordinal);
    }
}
