using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Contracts;
using Vocab.Vocabularies;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>vocabctl against the real broker and MongoDB, with a real worker consuming what it changes.</summary>
public sealed class VocabCtlTests(VocabCtlTests.AdminWorker fixture) : IClassFixture<VocabCtlTests.AdminWorker>
{
    public sealed class AdminWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?> { ["Llm:RetryLimit"] = "0" };
    }

    private readonly VocabCtlRunner _vocabctl = new(fixture);
    private static readonly TimeSpan RevocationBound = TimeSpan.FromSeconds(1.2);

    [Fact]
    public async Task KeysCreate_UseRevoke_NextMessageIsRejected()
    {
        var created = await _vocabctl.RunAsync("keys", "create", "--user", "ctl-alice", "--role", "premium", "--json");
        Assert.Equal(0, created.ExitCode);
        var key = created.Json.GetProperty("key").GetString()!;
        var keyId = created.Json.GetProperty("keyId").GetString()!;
        Assert.StartsWith($"vocab_{keyId}_", key, StringComparison.Ordinal);

        var first = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        Assert.True(first.Is(out Response<VocabularyGenerated>? generated));
        Assert.Equal("ctl-alice", generated!.Message.UserId);

        var listed = await _vocabctl.RunAsync("keys", "list", "--user", "ctl-alice");
        Assert.Contains(keyId, listed.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(key, listed.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await _vocabctl.RunAsync("keys", "revoke", keyId)).ExitCode);
        await Task.Delay(RevocationBound);

        var after = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        Assert.True(after.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.RevokedCredentials, rejected!.Message.Reason);
    }

    [Fact]
    public async Task KeysRotate_OldKeyWorksDuringGraceThenExpires()
    {
        var created = await _vocabctl.RunAsync("keys", "create", "--user", "ctl-rotate", "--json");
        var oldKey = created.Json.GetProperty("key").GetString()!;
        var oldId = created.Json.GetProperty("keyId").GetString()!;

        var rotated = await _vocabctl.RunAsync("keys", "rotate", oldId, "--grace", "8s", "--json");
        Assert.Equal(0, rotated.ExitCode);
        var newKey = rotated.Json.GetProperty("key").GetString()!;
        Assert.Equal("ctl-rotate", rotated.Json.GetProperty("userId").GetString());

        Assert.True((await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(oldKey))).Is(out Response<VocabularyGenerated>? _));
        Assert.True((await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(newKey))).Is(out Response<VocabularyGenerated>? _));

        // The grace leaves room for two requests on a loaded machine (at 3 s the old key could expire before the first).
        await Task.Delay(TimeSpan.FromSeconds(8) + RevocationBound);
        var old = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(oldKey));
        Assert.True(old.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.ExpiredCredentials, rejected!.Message.Reason);
        Assert.True((await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(newKey))).Is(out Response<VocabularyGenerated>? _));
    }

    [Fact]
    public async Task TokensRevokeUser_RefusesTokensIssuedBefore()
    {
        var token = fixture.Tokens.Hs256("ctl-logout", issuedAt: DateTime.UtcNow.AddSeconds(-30));
        Assert.True((await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token))).Is(out Response<VocabularyGenerated>? _));

        Assert.Equal(0, (await _vocabctl.RunAsync("tokens", "revoke-user", "ctl-logout")).ExitCode);
        await Task.Delay(RevocationBound);

        var after = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token));
        Assert.True(after.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.RevokedCredentials, rejected!.Message.Reason);
    }

    [Fact]
    public async Task TokensRevoke_BlacklistsJti()
    {
        var issued = await _vocabctl.RunAsync("tokens", "issue", "--user", "ctl-jti", "--ttl", "10m", "--json");
        Assert.Equal(0, issued.ExitCode);
        var token = issued.Json.GetProperty("token").GetString()!;
        var jti = issued.Json.GetProperty("jti").GetString()!;
        Assert.True((await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token))).Is(out Response<VocabularyGenerated>? _));

        Assert.Equal(0, (await _vocabctl.RunAsync("tokens", "revoke", jti, "--expires", "10m")).ExitCode);
        await Task.Delay(RevocationBound);

        var after = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token));
        Assert.True(after.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.RevokedCredentials, rejected!.Message.Reason);
    }

    [Fact]
    public async Task Dlq_ListShowReplayPurge_OverMessagesThatReallyFailed()
    {
        // One credential failure and one LLM failure, both real.
        var noCredential = WorkerFixture.NewRequest();
        var noCredentialId = await fixture.SendAsync(noCredential, _ => { });
        var (keyId, key) = await fixture.CreateApiKeyAsync("ctl-dlq");
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        var llmDown = WorkerFixture.NewRequest();
        var llmDownId = await fixture.SendAsync(llmDown, c => c.UseApiKey(key));
        var failed = await _vocabctl.WaitForDeadLetterAsync(llmDownId.ToString());
        var refusal = await _vocabctl.WaitForDeadLetterAsync(noCredentialId.ToString(), refused: true);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);

        // The refusal keeps metadata only, on its own bounded queue; the failure can be replayed and stays on _error.
        Assert.Equal(RejectionReasons.MissingCredentials, refusal.GetProperty("reason").GetString());
        Assert.True(refusal.GetProperty("verified").GetBoolean());
        Assert.Equal(RejectionReasons.LlmUnavailable, failed.GetProperty("reason").GetString());
        Assert.True(failed.GetProperty("verified").GetBoolean());
        Assert.Equal(keyId, failed.GetProperty("keyId").GetString());
        Assert.Equal(llmDown.VideoId, failed.GetProperty("videoId").GetString());
        var errorList = await _vocabctl.RunAsync("dlq", "list", "--json");
        Assert.DoesNotContain(errorList.Json.EnumerateArray(), r => r.GetProperty("messageId").GetString() == noCredentialId.ToString());
        var deadLetterId = failed.GetProperty("deadLetterId").GetString()!;
        var refusalId = refusal.GetProperty("deadLetterId").GetString()!;

        var show = await _vocabctl.RunAsync("dlq", "show", deadLetterId);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains(RejectionReasons.LlmUnavailable, show.Output, StringComparison.Ordinal);
        Assert.Contains(llmDown.Transcript, show.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(key, show.Output, StringComparison.Ordinal);
        var shownRefusal = await _vocabctl.RunAsync("dlq", "show", refusalId, "--refused", "--json");
        Assert.Equal("", shownRefusal.Json.GetProperty("body").GetString());

        // Replay takes dead-letter ids only: not a message id, not a refusal.
        var byMessageId = await _vocabctl.RunAsync("dlq", "replay", llmDownId.ToString());
        Assert.NotEqual(0, byMessageId.ExitCode);
        Assert.Contains("DEAD LETTER ID", byMessageId.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, (await _vocabctl.RunAsync("dlq", "replay", refusalId)).ExitCode);

        var replay = await _vocabctl.RunAsync("dlq", "replay", "--reason", RejectionReasons.LlmUnavailable, "--json");
        Assert.True(replay.ExitCode == 0, replay.ToString());
        Assert.Equal(1, replay.Json.GetProperty("replayed").GetInt32());
        var store = fixture.Services.GetRequiredService<VocabularyStore>();
        var stored = await Eventually(() => store.FindByRequestIdAsync(llmDown.RequestId, default));
        Assert.Equal("ctl-dlq", stored.UserId);

        var cancelled = await _vocabctl.RunWithInputAsync("n\n", "dlq", "purge", "--all");
        Assert.NotEqual(0, cancelled.ExitCode);
        var purge = await _vocabctl.RunAsync("dlq", "purge", "--refused", "--reason", RejectionReasons.MissingCredentials, "--yes", "--json");
        Assert.Equal(0, purge.ExitCode);
        Assert.True(purge.Json.GetProperty("purged").GetInt64() >= 1);
        var afterPurge = await _vocabctl.RunAsync("dlq", "list", "--refused", "--reason", RejectionReasons.MissingCredentials, "--json");
        Assert.Equal(0, afterPurge.Json.GetArrayLength());
    }

    private static async Task<T> Eventually<T>(Func<Task<T?>> probe) where T : class
    {
        for (var i = 0; i < 100; i++)
        {
            if (await probe() is { } value)
                return value;
            await Task.Delay(200);
        }
        throw new TimeoutException("condition not met");
    }
}
