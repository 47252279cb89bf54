using System.Net;
using System.Text.RegularExpressions;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenQA.Selenium;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Failures;
using Vocab.TestSupport;
using Vocab.Tests.Infrastructure;
using Vocab.Vocabularies;

namespace Vocab.Tests.Ops;

/// <summary>
/// The ops console in a real browser (headless chromium) over HTTPS, beside a real worker, broker and MongoDB: its
/// ingestor fills the failure store from the worker's dead letters, and its pages act on them. Screenshots land in docs/ops/.
/// </summary>
public sealed partial class OpsConsoleTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>, IAsyncLifetime
{
    private OpsHost _ops = null!;
    private HeadlessChromium _browser = null!;

    public async Task InitializeAsync()
    {
        _ops = await OpsHost.StartAsync(OpsHost.Configuration(fixture));
        _browser = new HeadlessChromium();
    }

    public async Task DisposeAsync()
    {
        _browser.Dispose();
        await _ops.DisposeAsync();
    }

    private Uri Page(string path) => new(_ops.BaseAddress, path);

    private async Task SignInAsync(string role = Roles.Admin)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"operator-{Guid.NewGuid():N}"[..20], role: role);
        _browser.Open(Page("/SignIn"));
        _browser.Find("#credential").SendKeys(key);
        _browser.Find("#signin").Click();
        // The next page opened must not race the sign-in's answer (and its cookie).
        if (role is Roles.Admin or Roles.Ops)
            _browser.Await("form.signout");
        else
            _browser.Await("#signin-error");
    }

    [Fact]
    public async Task FailedRequests_AppearInTheirGroup_AndReplayingTheGroupAnswersEachOnce()
    {
        var user = $"ops-user-{Guid.NewGuid():N}"[..24];
        var (keyId, key) = await fixture.CreateApiKeyAsync(user);
        var requests = Enumerable.Range(0, 3).Select(_ => WorkerFixture.NewRequest()).ToList();
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        try
        {
            foreach (var request in requests)
            {
                var answer = await fixture.RequestAsync(request, c => c.UseApiKey(key));
                Assert.True(answer.Is(out Response<GenerateVocabularyRejected>? rejected));
                Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
            }
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }

        await SignInAsync();
        // The ingestor moves the dead letters into the store in the background: the group shows all three of this user's.
        var listed = _browser.WaitFor(Page($"/Failures?user={user}&reason={RejectionReasons.LlmUnavailable}"), "#failures tbody tr:nth-child(3) input[name=id]", TimeSpan.FromSeconds(30));
        Assert.NotNull(listed);
        _browser.Screenshot("failures");
        _browser.Open(Page("/"));
        var group = _browser.Find($"#groups tr[data-group='{RejectionReasons.LlmUnavailable}']");
        Assert.True(long.Parse(group.FindElement(By.CssSelector("td.num")).Text, System.Globalization.CultureInfo.InvariantCulture) >= 3);
        _browser.Screenshot("overview");

        var first = _browser.WaitFor(Page($"/Failures?user={user}"), "#failures tbody tr a", TimeSpan.FromSeconds(5));
        first.Click();
        Assert.Contains("Verified", _browser.Find("#signature").Text, StringComparison.Ordinal);
        Assert.Contains(keyId, _browser.Web.PageSource, StringComparison.Ordinal);
        Assert.DoesNotContain(key, _browser.Web.PageSource, StringComparison.Ordinal);
        _browser.Screenshot("detail");

        // Other failures of the group (earlier tests) are replayed too; this user's three are what is counted.
        var callsBefore = fixture.Llm.CallCount;
        _browser.Open(Page("/"));
        _browser.Find($"#groups tr[data-group='{RejectionReasons.LlmUnavailable}'] a.button").Click();
        _browser.Screenshot("confirm");
        _browser.Await("#confirm").Click();
        var outcome = _browser.Await("#outcome").Text;
        Assert.Matches(ReplayedCount(), outcome);
        _browser.Screenshot("replayed");

        var store = fixture.Services.GetRequiredService<VocabularyStore>();
        foreach (var request in requests)
        {
            var stored = await EventuallyAsync(() => store.FindByRequestIdAsync(request.RequestId, default));
            Assert.Equal(user, stored.UserId);
        }
        var failures = _ops.Services.GetRequiredService<FailureStore>();
        var (mine, _) = await failures.ListAsync(new FailureFilter(UserId: user, Status: null), 10, default);
        Assert.Equal(3, mine.Count);
        Assert.All(mine, f => Assert.Equal(FailureStatus.Replayed, f.Status));
        Assert.All(mine, f => Assert.Single(f.Replays, r => r.Replayed));
        // Each replayed request was answered with exactly one LLM call, and replaying them again publishes nothing.
        var replayCalls = fixture.Llm.Requests.Skip(callsBefore).Select(r => r.RootElement.GetRawText()).ToList();
        foreach (var request in requests)
            Assert.Single(replayCalls, call => call.Contains(request.Transcript[^34..^1], StringComparison.Ordinal));
        var callsAfterReplay = fixture.Llm.CallCount;
        var again = await _ops.Services.GetRequiredService<FailureReplayer>().ReplayAsync(mine.Select(f => f.Id).ToList(), "test", TimeSpan.FromMinutes(5), default);
        Assert.Empty(again.Replayed);
        await Task.Delay(500);
        Assert.Equal(callsAfterReplay, fixture.Llm.CallCount);

        // The other pages: usage counts the replayed requests; the system page reads the broker's queues, where the
        // console's own ingestor consumes the error queue; the audit log has the replay.
        _browser.Open(Page("/Usage"));
        Assert.Contains(user, _browser.Find("#usage").Text, StringComparison.Ordinal);
        _browser.Screenshot("usage");
        _browser.Open(Page("/System"));
        Assert.Contains(WorkerFixture.ErrorQueueName, _browser.Find("#queues").Text, StringComparison.Ordinal);
        _browser.Screenshot("system");
        _browser.Open(Page("/Audit"));
        Assert.Contains("replay", _browser.Find("#audit").Text, StringComparison.Ordinal);
        _browser.Screenshot("audit");
    }

    [Fact]
    public async Task RevokingAKey_OnThePage_RefusesItsNextMessage()
    {
        var user = $"revoke-{Guid.NewGuid():N}"[..20];
        var (keyId, key) = await fixture.CreateApiKeyAsync(user);
        await SignInAsync();
        _browser.Open(Page($"/Keys?user={user}"));
        _browser.Screenshot("keys");
        _browser.Find($"tr[data-key='{keyId}'] input[name=confirm]").Click();
        _browser.Find($"#revoke-{keyId}").Click();
        Assert.Contains($"Revoked {keyId}", _browser.Await("#keys-message").Text, StringComparison.Ordinal);

        var answer = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        Assert.True(answer.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.RevokedCredentials, rejected!.Message.Reason);
    }

    [Fact]
    public async Task AMessageOfATypeNoConsumerHandles_IsStoredAsARefusal_VerifiedButNeverReplayed()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"skipped-{Guid.NewGuid():N}"[..20]);
        var messageId = await fixture.SendAsync(new NobodyHandlesThis($"text {Guid.NewGuid():N}"), c => c.UseApiKey(key));

        var store = _ops.Services.GetRequiredService<FailureStore>();
        var skipped = await EventuallyAsync(async () =>
            (await store.ListAsync(new FailureFilter(Queue: FailureQueues.Refused), 50, default)).Rows.FirstOrDefault(f => f.MessageId == messageId.ToString()));

        Assert.Equal((RejectionReasons.UnhandledMessageType, true, null), (skipped.Reason, skipped.Verified, skipped.UserId));
        Assert.DoesNotContain(key, skipped.Body + string.Join(' ', skipped.Headers.Values), StringComparison.Ordinal);
        Assert.Equal("", skipped.Body);
        Assert.Contains("a refusal", await _ops.Services.GetRequiredService<FailureReplayer>().RefusalAsync(skipped, default), StringComparison.Ordinal);
        var outcome = await _ops.Services.GetRequiredService<FailureReplayer>().ReplayAsync([skipped.Id], "test", TimeSpan.FromMinutes(1), default);
        Assert.Empty(outcome.Replayed);
        // The groups are counters written after the failure itself: eventually.
        Assert.NotNull(await EventuallyAsync(async () =>
            (await store.GroupsAsync(FailureStatus.Open, default)).FirstOrDefault(g => g.Group == RejectionReasons.UnhandledMessageType)));
    }

    /// <summary>A message type the worker has no consumer for.</summary>
    public sealed record NobodyHandlesThis(string Text);

    [Fact]
    public async Task UserRoleCredential_Gets403_AndNoSession()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("plain-user");
        var cookies = new CookieContainer();
        using var client = _ops.Client(cookies);
        var response = await PostSignInAsync(client, key);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain(cookies.GetAllCookies(), c => c.Name == "vocab-ops");
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/")).StatusCode);

        await SignInAsync(Roles.User);
        Assert.Contains("may not use the ops console", _browser.Await("#signin-error").Text, StringComparison.Ordinal);
        _browser.Screenshot("signin-forbidden");
    }

    [Fact]
    public async Task APostWithoutTheAntiforgeryToken_IsRefused_AndTheSessionCookieIsStrict()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("ops-admin", role: Roles.Ops);
        var cookies = new CookieContainer();
        using var client = _ops.Client(cookies);
        var signIn = await PostSignInAsync(client, key);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var setCookie = string.Join("\n", signIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        var overview = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        Assert.Contains("script-src 'none'", overview.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        var forged = await client.PostAsync("/Keys?handler=RevokeUser", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userId"] = "victim", ["confirm"] = "true",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
    }

    [Theory]
    [InlineData(Roles.Admin, false)]
    [InlineData(Roles.Ops, false)]
    [InlineData(Roles.Premium, true)]
    [InlineData(Roles.User, true)]
    public async Task AnOpsOperator_IssuesCallersKeys_NeverAnOperatorsOrAnAdmins(string role, bool allowed)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"ops-{Guid.NewGuid():N}"[..20], role: Roles.Ops);
        using var client = _ops.Client(new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PostSignInAsync(client, key)).StatusCode);
        var token = AntiforgeryToken().Match(await client.GetStringAsync("/Keys")).Groups[1].Value;
        var user = $"issued-{Guid.NewGuid():N}"[..20];

        var created = await client.PostAsync("/Keys?handler=Create", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userId"] = user, ["role"] = role, ["__RequestVerificationToken"] = token,
        }));

        var issued = await fixture.Services.GetRequiredService<ApiKeyStore>().ListAsync(user, default);
        Assert.Equal(allowed ? 1 : 0, issued.Count);
        if (!allowed)
            Assert.Contains("/Forbidden", created.Headers.Location?.ToString() ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASession_EndsWithTheKeyThatOpenedIt_OnItsNextRequest()
    {
        var (keyId, key) = await fixture.CreateApiKeyAsync($"ops-{Guid.NewGuid():N}"[..20], role: Roles.Ops);
        using var client = _ops.Client(new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await PostSignInAsync(client, key)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);

        Assert.True(await fixture.Services.GetRequiredService<ApiKeyStore>().RevokeAsync(keyId, DateTime.UtcNow, default));
        var after = await client.GetAsync("/");

        Assert.True(after.StatusCode == HttpStatusCode.Redirect, $"{after}\n{await after.Content.ReadAsStringAsync()}");
        Assert.Contains("/SignIn", after.Headers.Location?.ToString() ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASessionOpenedWithAJwt_EndsWhenTheTokenExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var ops = await OpsHost.StartAsync(OpsHost.Configuration(fixture), time);
        var token = fixture.Tokens.Hs256($"ops-{Guid.NewGuid():N}"[..20], expires: time.GetUtcNow().UtcDateTime.AddMinutes(10), role: Roles.Ops);
        using var client = ops.Client(new CookieContainer());
        var signIn = await PostSignInAsync(client, token);
        Assert.True(signIn.StatusCode == HttpStatusCode.Redirect, await signIn.Content.ReadAsStringAsync());
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);

        // Ops:SessionLifetime is 8 h; the token that opened the session is good for 10 minutes.
        time.Advance(TimeSpan.FromMinutes(2));
        var after = await client.GetAsync("/");

        Assert.True(after.StatusCode == HttpStatusCode.Redirect, $"{after}\n{await after.Content.ReadAsStringAsync()}");
        Assert.Contains("/SignIn", after.Headers.Location?.ToString() ?? "", StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> PostSignInAsync(HttpClient client, string credential)
    {
        var form = await client.GetStringAsync("/SignIn");
        var token = AntiforgeryToken().Match(form).Groups[1].Value;
        return await client.PostAsync("/SignIn", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Credential"] = credential, ["__RequestVerificationToken"] = token,
        }));
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe) where T : class
    {
        for (var i = 0; i < 150; i++)
        {
            if (await probe() is { } value)
                return value;
            await Task.Delay(200);
        }
        throw new TimeoutException("never happened");
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();

    [GeneratedRegex("^Replayed [1-9][0-9]*, refused [0-9]+\\.$")]
    private static partial Regex ReplayedCount();
}
