using System.Net;
using System.Net.Http.Json;
using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Tests.Attacks;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.Identity;

/// <summary>
/// Signing keys from a real OpenID provider (npm oidc-provider): its RS256 tokens served by the worker and the bridge, a
/// key rotation followed at once, removed keys refused, the last keys kept while it is down, and a start without it.
/// </summary>
public sealed class OpenIdProviderTests(OidcFixture fixture) : IClassFixture<OidcFixture>
{
    [Fact]
    public async Task ProviderToken_IsServedOnTheBusAndByTheBridge()
    {
        var token = await fixture.Provider.IssueTokenAsync();

        var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token));
        var http = await fixture.Bridge.Client.SendAsync(Post(token));

        Assert.True(response.Is(out Response<VocabularyGenerated>? generated), "the provider's token is served on the bus");
        Assert.Equal(OidcProviderProcess.ClientId, generated!.Message.UserId);
        Assert.True(http.StatusCode == HttpStatusCode.OK, $"bridge: {(int)http.StatusCode}\n{BridgeLog()}");
    }

    private string BridgeLog() => string.Join("\n", fixture.Bridge.Logs.Lines.Where(l => l.Contains("Authentication", StringComparison.Ordinal) || l.Contains("rejected", StringComparison.Ordinal)).TakeLast(20));

    private string WorkerLog() => string.Join("\n", fixture.Logs.Lines.Where(l => l.Contains("Authentication", StringComparison.Ordinal) || l.Contains("Rejected", StringComparison.Ordinal)).TakeLast(20));

    [Fact]
    public async Task Rotation_NewKeyIsAcceptedWithoutDeadLettering_RemovedKeyIsRefused()
    {
        var oldKeyToken = await fixture.Provider.IssueTokenAsync();
        var oldKeyTokenForTheBridge = await fixture.Provider.IssueTokenAsync();
        var oldKid = fixture.Provider.SigningKeyId;
        var newKid = await fixture.Provider.RotateAsync();
        var newKeyToken = await fixture.Provider.IssueTokenAsync();
        var newKeyTokenForTheBridge = await fixture.Provider.IssueTokenAsync();

        // The worker and the bridge have not seen the new kid: each fetches the keys again before judging, at most once
        // per Jwt:UnknownKeyRefreshInterval (1 s here), which an earlier fetch (the fixture's start) may still hold back.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var busNew = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(newKeyToken));
        var httpNew = await fixture.Bridge.Client.SendAsync(Post(newKeyTokenForTheBridge));
        var busOld = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(oldKeyToken));
        var httpOld = await fixture.Bridge.Client.SendAsync(Post(oldKeyTokenForTheBridge));

        Assert.NotEqual(oldKid, newKid);
        Assert.True(busNew.Is(out Response<VocabularyGenerated>? _), "a token of the new key is served on the bus");
        Assert.Equal(HttpStatusCode.OK, httpNew.StatusCode);
        Assert.True(busOld.Is(out Response<GenerateVocabularyRejected>? rejected), "a token of the removed key is refused on the bus");
        Assert.Equal(RejectionReasons.InvalidCredentials, rejected!.Message.Reason);
        Assert.Equal(HttpStatusCode.Unauthorized, httpOld.StatusCode);
    }

    [Fact]
    public async Task Rotation_KeepingTheOldKeyPublished_AcceptsBoth()
    {
        var oldKeyToken = await fixture.Provider.IssueTokenAsync();
        await fixture.Provider.RotateAsync(keepOld: true);
        var newKeyToken = await fixture.Provider.IssueTokenAsync();

        var httpNew = await fixture.Bridge.Client.SendAsync(Post(newKeyToken));
        var httpOld = await fixture.Bridge.Client.SendAsync(Post(oldKeyToken));

        Assert.Equal(HttpStatusCode.OK, httpNew.StatusCode);
        Assert.Equal(HttpStatusCode.OK, httpOld.StatusCode);
    }

    [Fact]
    public async Task ProviderDown_TheLastKeysStayInUse_AndItsNewKeysAreTakenWhenItIsBack()
    {
        var token = await fixture.Provider.IssueTokenAsync();
        // The worker knows the provider's current key first (an earlier test may have rotated it moments ago).
        await WaitUntilAsync(async () =>
            (await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token))).Is(out Response<VocabularyGenerated>? _),
            "the provider's current key is known before it goes down", WorkerLog);
        await fixture.Provider.StopAsync();
        try
        {
            // A token naming a kid nobody has makes the worker try the provider, which is down (sent again while the
            // unknown-kid throttle, 1 s here, holds the attempt back).
            var failuresBefore = FetchFailures();
            await WaitUntilAsync(async () =>
            {
                await fixture.RequestAsync(WorkerFixture.NewRequest(),
                    c => c.UseBearerToken(RawJwt.Sign(RawJwt.Header("RS256", kid: $"kid-nobody-has-{Guid.NewGuid():N}"), RawJwt.Claims())));
                return FetchFailures() > failuresBefore;
            }, "the worker logs that fetching keys failed", WorkerLog);

            var served = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token));

            Assert.True(served.Is(out Response<VocabularyGenerated>? _), "the last keys fetched stay in use while the provider is down");
        }
        finally
        {
            await fixture.Provider.StartAsync();
        }

        // Back with fresh keys (a restart generates them): its new tokens are served.
        // Within the unknown-kid refresh bound (1 s here): the kid-nobody-has probe above may have just used the refresh.
        var restartedToken = await fixture.Provider.IssueTokenAsync();
        await WaitUntilAsync(async () =>
        {
            var afterRestart = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(restartedToken));
            return afterRestart.Is(out Response<VocabularyGenerated>? _);
        }, "the restarted provider's key is fetched within the refresh bound", WorkerLog);
    }

    [Fact]
    public async Task StartUp_WithTheProviderDown_DoesNotFail_LogsAndTakesItsKeysOnceItIsUp()
    {
        var provider = OidcProviderProcess.On(OidcProviderProcess.FreePort());
        await using var _ = provider;
        var logs = new CapturedLogs();
        var configuration = provider.JwtConfiguration(discovery: false);
        configuration["Authentication:CacheDuration"] = "00:00:00";
        await using var host = await AuthenticationOnlyHost.StartAsync(configuration, logs: logs);
        await WaitUntilAsync(() => logs.Lines.Any(l => l.Contains("not reached", StringComparison.Ordinal) && l.Contains(provider.Issuer, StringComparison.Ordinal)),
            "a warning names the provider that cannot be reached");

        await provider.StartAsync();
        var token = await provider.IssueTokenAsync();
        var result = await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer " + token), default);

        Assert.True(result.Succeeded, result.FailureDetail);
        Assert.Equal(Roles.User, result.Caller!.Role);
    }

    private int FetchFailures() => fixture.Logs.Lines.Count(l => l.Contains("Fetching signing keys from", StringComparison.Ordinal));

    private static Task WaitUntilAsync(Func<bool> condition, string what, Func<string>? diagnostics = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, diagnostics);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, Func<string>? diagnostics = null)
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            if (cancellation.IsCancellationRequested)
                Assert.Fail($"gave up waiting: {what}\n{diagnostics?.Invoke()}");
            await Task.Delay(100);
        }
    }

    private static HttpRequestMessage Post(string bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/oidc-{Guid.NewGuid():N}/vocabulary")
        {
            Content = JsonContent.Create(new { transcript = $"Keys rotate, words stay. {Guid.NewGuid():N}", sourceLanguage = "en", targetLanguage = "ko", maxItems = 3 }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        return request;
    }
}
