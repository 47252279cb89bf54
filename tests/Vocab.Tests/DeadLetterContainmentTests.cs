using System.Text;
using MassTransit;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// Every route a message can take to a dead-letter queue keeps no credential and only the worker's own metadata:
/// skipped envelopes, envelopes MassTransit reads leniently, the broker's own dead-lettering, forged Vocab-* headers.
/// </summary>
public sealed class DeadLetterContainmentTests(DeadLetterContainmentTests.SerialWorker fixture) : IClassFixture<DeadLetterContainmentTests.SerialWorker>
{
    /// <summary>One message at a time, so a slow request holds the next one in the queue long enough to expire.</summary>
    public sealed class SerialWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Worker:PrefetchCount"] = "1",
            ["Worker:ConcurrentMessageLimit"] = "1",
        };
    }

    private readonly VocabCtlRunner _vocabctl = new(fixture);

    [Fact]
    public async Task Envelope_OfUnknownMessageType_IsRefusedWithMetadataOnly()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("skipped-user");
        var messageId = Guid.NewGuid();
        var body = Envelope(messageId, "urn:message:Vocab.Contracts:SomethingNobodyHandles", key);

        await PublishAsync(body, "application/vnd.masstransit+json", messageId, new() { [VocabHeaders.ApiKey] = key });
        var skipped = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        // It never met authentication: no proven caller, never replayed, so nothing of what any publisher sent is kept.
        Assert.Equal(RejectionReasons.UnhandledMessageType, skipped.Header(VocabHeaders.Reason));
        Assert.Equal("", skipped.Body);
        Assert.Equal(Vocab.Worker.DeadLetter.CredentialScrubber.BodyRemoval.Refused, skipped.Header(VocabHeaders.BodyRemoved));
        Assert.DoesNotContain(key, skipped.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Envelope_WithCommentsAndTrailingCommas_IsDeadLetteredWithoutItsCredential()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("lenient-user");
        var messageId = Guid.NewGuid();
        // MassTransit's reader accepts comments and trailing commas; a stricter scrubber would have kept the body as is.
        var lenient = Envelope(messageId, "urn:message:Vocab.Contracts:GenerateVocabulary", key)
            .Replace("\"headers\"", "/* a comment */ \"headers\"", StringComparison.Ordinal)
            .Replace("}\n}", "},\n}", StringComparison.Ordinal);

        // A replayable failure, so the copy keeps its body (a refused credential would keep none).
        var deadLetter = await WhileLlmFailsAsync(async () =>
        {
            await PublishAsync(lenient, "application/vnd.masstransit+json", messageId, []);
            return await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.ErrorQueueName, messageId);
        });

        Assert.Equal(RejectionReasons.LlmUnavailable, deadLetter.Header(VocabHeaders.Reason));
        Assert.DoesNotContain(key, deadLetter.AllText, StringComparison.Ordinal);
        Assert.Contains("video-skipped", deadLetter.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_ThatCannotBeCleanedWithCertainty_LosesItsBodyAndKeepsItsMetadata()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("body-secret-user");
        var inBody = Authentication.ApiKeys.ApiKeyFormat.Generate().Key;
        var messageId = Guid.NewGuid();
        // A credential sits in the body itself, where no header rule would find it.
        var body = $$"""{"requestId":"{{Guid.NewGuid()}}","videoId":"v","transcript":"my key is {{inBody}}","sourceLanguage":"en","targetLanguage":"ko","maxItems":3}""";

        var deadLetter = await WhileLlmFailsAsync(async () =>
        {
            await PublishAsync(body, "application/json", messageId, new() { [VocabHeaders.ApiKey] = key });
            return await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.ErrorQueueName, messageId);
        });

        Assert.Equal(RejectionReasons.LlmUnavailable, deadLetter.Header(VocabHeaders.Reason));
        Assert.Equal("credential_in_body", deadLetter.Header(VocabHeaders.BodyRemoved));
        Assert.Equal("", deadLetter.Body);
        Assert.DoesNotContain(inBody, deadLetter.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(key, deadLetter.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Message_ThatExpiresInTheQueue_IsFiledByTheWorkerWithReasonAndNoCredential()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("expiry-user");
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Slow(TimeSpan.FromSeconds(2));
        try
        {
            // The blocker occupies the worker's only slot; the next message waits behind it and its time-to-live runs out.
            await fixture.SendAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
            await WaitUntilAsync(() => fixture.Llm.CallCount > 0);
            var messageId = Guid.NewGuid();
            var request = WorkerFixture.NewRequest();
            await PublishAsync(System.Text.Json.JsonSerializer.Serialize(request, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)),
                "application/json", messageId, new() { [VocabHeaders.ApiKey] = key, [VocabHeaders.UserId] = "forged-victim" }, expiration: "100");

            var deadLetter = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId, TimeSpan.FromSeconds(30));

            Assert.Equal(RejectionReasons.ExpiredInQueue, deadLetter.Header(VocabHeaders.Reason));
            Assert.Equal(WorkerFixture.QueueName, deadLetter.Header(VocabHeaders.DeadLetteredFrom));
            Assert.Null(deadLetter.Header(VocabHeaders.UserId));
            // No caller proven (it never reached authentication): metadata only, on the bounded queue.
            Assert.Equal("", deadLetter.Body);
            Assert.DoesNotContain(key, deadLetter.AllText, StringComparison.Ordinal);
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    [Fact]
    public async Task ForgedCallerHeaders_OnAMessageWithNoProvenCaller_AreDroppedAndItIsNeverReplayed()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("forger");
        var messageId = Guid.NewGuid();
        // Fails before the filter can prove anyone: the body is not a request at all.
        await PublishAsync("{\"requestId\": \"not-a-guid\", \"transcript\": ", "application/json", messageId, new()
        {
            [VocabHeaders.ApiKey] = key, [VocabHeaders.UserId] = "victim", [VocabHeaders.Role] = "admin", ["vocab-key-id"] = "000000000000",
        });

        // No caller proven: it cannot be replayed, so it is kept as a refusal (metadata only, bounded), not on _error.
        var deadLetterId = (await _vocabctl.WaitForDeadLetterAsync(messageId.ToString(), refused: true)).GetProperty("deadLetterId").GetString()!;
        var shown = await _vocabctl.RunAsync("dlq", "show", deadLetterId, "--refused", "--json");
        var replay = await _vocabctl.RunAsync("dlq", "replay", deadLetterId);

        Assert.Equal(RejectionReasons.InvalidRequest, shown.Json.GetProperty("reason").GetString());
        // The worker's own copy: signed, and what it says is only what the worker proved (nobody).
        Assert.True(shown.Json.GetProperty("verified").GetBoolean());
        Assert.DoesNotContain("victim", shown.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("admin", shown.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("000000000000", shown.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(key, shown.Output, StringComparison.Ordinal);
        Assert.Equal("", shown.Json.GetProperty("body").GetString());
        Assert.NotEqual(0, replay.ExitCode);
        Assert.Contains($"not replayed {deadLetterId}: a refusal", replay.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForgedCallerHeaders_OnAProvenCallersMessage_GiveWayToTheProvenCaller()
    {
        var (keyId, key) = await fixture.CreateApiKeyAsync("proven-caller");
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        try
        {
            var messageId = await fixture.SendAsync(WorkerFixture.NewRequest(), c =>
            {
                c.UseApiKey(key);
                c.Headers.Set(VocabHeaders.UserId, "victim");
                c.Headers.Set(VocabHeaders.Role, "admin");
            });
            var deadLetter = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.ErrorQueueName, messageId);

            Assert.Equal(RejectionReasons.LlmUnavailable, deadLetter.Header(VocabHeaders.Reason));
            Assert.Equal("proven-caller", deadLetter.Header(VocabHeaders.UserId));
            Assert.Equal("user", deadLetter.Header(VocabHeaders.Role));
            Assert.Equal(keyId, deadLetter.Header(VocabHeaders.KeyId));
            Assert.DoesNotContain("victim", deadLetter.AllText, StringComparison.Ordinal);
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    [Fact]
    public async Task Reply_ToARequestWithForgedVocabHeaders_DoesNotCarryThem()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("reply-user");
        var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c =>
        {
            c.UseApiKey(key);
            c.Headers.Set(VocabHeaders.UserId, "victim");
        });

        Assert.True(response.Is(out Response<VocabularyGenerated>? generated));
        Assert.False(generated!.Headers.TryGetHeader(VocabHeaders.UserId, out _));
        Assert.False(generated.Headers.TryGetHeader(VocabHeaders.ApiKey, out _));
    }

    private static string Envelope(Guid messageId, string messageType, string key) => $$"""
        {
          "messageId": "{{messageId}}",
          "messageType": ["{{messageType}}"],
          "headers": { "X-API-Key": "{{key}}", "Vocab-User-Id": "victim" },
          "message": {
            "requestId": "{{Guid.NewGuid()}}", "videoId": "video-skipped", "transcript": "Hello there.",
            "sourceLanguage": "en", "targetLanguage": "ko", "maxItems": 3
          }
        }
        """;

    private async Task PublishAsync(string body, string contentType, Guid messageId, Dictionary<string, object?> headers, string? expiration = null)
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var properties = new BasicProperties { ContentType = contentType, MessageId = messageId.ToString(), Headers = headers, Persistent = true };
        if (expiration is not null)
            properties.Expiration = expiration;
        await channel.BasicPublishAsync("", WorkerFixture.QueueName, false, properties, Encoding.UTF8.GetBytes(body));
    }

    private async Task<T> WhileLlmFailsAsync<T>(Func<Task<T>> action)
    {
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        try
        {
            return await action();
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("condition not met in 30 s");
            await Task.Delay(100);
        }
    }
}
