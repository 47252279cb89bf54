using MassTransit;
using Microsoft.Extensions.Time.Testing;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests.Ops;

/// <summary>
/// The keys page in a real browser beside a real worker: rotating with grace and revoking a user's tokens, each felt by
/// the worker on the next message and written to the audit page. The console's clock is a fake one, set so that a grace
/// of whole hours ends moments from now on the worker's (real) clock.
/// </summary>
public sealed class OpsKeysTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>, IAsyncLifetime
{
    private static readonly TimeSpan GraceLeft = TimeSpan.FromSeconds(30);
    // Behind the real clock so either test can set it forward to where it needs it (a fake clock never goes back).
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow.AddHours(-25));
    private OpsHost _ops = null!;
    private HeadlessChromium _browser = null!;

    public async Task InitializeAsync()
    {
        _ops = await OpsHost.StartAsync(OpsHost.Configuration(fixture), _time);
        _browser = new HeadlessChromium();
    }

    public async Task DisposeAsync()
    {
        _browser.Dispose();
        await _ops.DisposeAsync();
    }

    private Uri Page(string path) => new(_ops.BaseAddress, path);

    private async Task SignInAsync()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"operator-{Guid.NewGuid():N}"[..20], role: Roles.Admin);
        _browser.Open(Page("/SignIn"));
        _browser.Find("#credential").SendKeys(key);
        _browser.Find("#signin").Click();
        _browser.Await("form.signout"); // the next page opened must not race the sign-in's answer (and its cookie)
    }

    [Fact]
    public async Task RotateWithGrace_ShowsTheNewKeyOnce_OldKeyWorksWithinTheGraceAndIsRefusedAfter()
    {
        var user = $"rotate-{Guid.NewGuid():N}"[..20];
        var (oldId, oldKey) = await fixture.CreateApiKeyAsync(user);
        await SignInAsync();
        _browser.Open(Page($"/Keys?user={user}"));

        // 24 hours of grace from a console clock 24 hours less GraceLeft behind: the grace ends GraceLeft from now.
        var graceEnds = DateTime.UtcNow + GraceLeft;
        _time.SetUtcNow(graceEnds.AddHours(-24));
        var rotate = _browser.Find($"tr[data-key='{oldId}'] form.rotate");
        var grace = rotate.FindElement(OpenQA.Selenium.By.Name("graceHours"));
        grace.Clear();
        grace.SendKeys("24");
        rotate.FindElement(OpenQA.Selenium.By.Name("confirm")).Click();
        _browser.Find($"#rotate-{oldId}").Click();
        Assert.Contains($"Rotated {oldId} to ", _browser.Await("#keys-message").Text, StringComparison.Ordinal);
        var newKey = _browser.Find("#new-key").Text;
        Assert.NotEqual(oldKey, newKey);
        _browser.Screenshot("keys-rotated");

        Assert.Equal("served", ServedOrReason(await RequestAsync(oldKey)));
        Assert.True(DateTime.UtcNow < graceEnds, "the request within the grace took longer than the grace left; nothing was shown");
        Assert.Equal("served", ServedOrReason(await RequestAsync(newKey)));
        _browser.Open(Page($"/Keys?user={user}"));
        Assert.Empty(_browser.Web.FindElements(OpenQA.Selenium.By.CssSelector("#new-key"))); // shown once

        // After the grace (and the worker's one-second lookup cache): the old key is refused, the new one is not.
        while (DateTime.UtcNow < graceEnds.AddSeconds(2))
            await Task.Delay(250);
        Assert.Equal(RejectionReasons.ExpiredCredentials, ServedOrReason(await RequestAsync(oldKey)));
        Assert.Equal("served", ServedOrReason(await RequestAsync(newKey)));

        _browser.Open(Page("/Audit"));
        Assert.Contains($"key {oldId} -> ", _browser.Find("#audit").Text, StringComparison.Ordinal);
        Assert.Contains("grace 24 h", _browser.Find("#audit").Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokeAUsersTokens_RefusesATokenIssuedBefore_OnItsNextMessage()
    {
        var user = $"tokens-{Guid.NewGuid():N}"[..20];
        var token = fixture.Tokens.Hs256(user, issuedAt: DateTime.UtcNow.AddMinutes(-1));
        Assert.Equal("served", ServedOrReason(await RequestAsync(bearer: token)));
        _time.SetUtcNow(DateTimeOffset.UtcNow); // the revocation happens now, a minute after the token was issued
        await SignInAsync();
        _browser.Open(Page("/Keys"));

        _browser.Find("#revoke-user-id").SendKeys(user);
        _browser.Find("#revoke-user-confirm").Click();
        _browser.Find("#revoke-user").Click();
        Assert.Contains($"Every token of user {user} issued before now is refused", _browser.Await("#keys-message").Text, StringComparison.Ordinal);
        _browser.Screenshot("keys-revoke-user");

        // The worker keeps "not revoked" for up to a second (the documented bound): a fast run must not ask sooner.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        Assert.Equal(RejectionReasons.RevokedCredentials, ServedOrReason(await RequestAsync(bearer: token)));
        _browser.Open(Page("/Audit"));
        Assert.Contains($"user {user}", _browser.Find("#audit").Text, StringComparison.Ordinal);
        Assert.Contains("tokens.revoke-user", _browser.Find("#audit").Text, StringComparison.Ordinal);
        _browser.Screenshot("audit-keys");
    }

    private Task<Response<VocabularyGenerated, GenerateVocabularyRejected>> RequestAsync(string? apiKey = null, string? bearer = null) =>
        fixture.RequestAsync(WorkerFixture.NewRequest(), c =>
        {
            if (apiKey is not null)
                c.UseApiKey(apiKey);
            if (bearer is not null)
                c.UseBearerToken(bearer);
        });

    private static string ServedOrReason(Response<VocabularyGenerated, GenerateVocabularyRejected> answer) =>
        answer.Is(out Response<GenerateVocabularyRejected>? rejected) ? rejected!.Message.Reason : "served";
}
