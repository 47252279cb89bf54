using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests;

/// <summary>
/// vocabctl acts only on dead-lettered copies the worker signed, exactly as it wrote them, and addresses them by the
/// dead-letter id the worker assigned: a copy published straight to the error queue, or changed there, is never replayed.
/// </summary>
public sealed class DeadLetterSignatureTests(DeadLetterSignatureTests.NoRetryWorker fixture) : IClassFixture<DeadLetterSignatureTests.NoRetryWorker>
{
    public sealed class NoRetryWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?> { ["Llm:RetryLimit"] = "0" };
    }

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly VocabCtlRunner _vocabctl = new(fixture);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ForgedCopy_PublishedStraightToTheErrorQueue_IsListedUnverifiedAndNeverReplayed(bool withSignatureHeaders)
    {
        var request = WorkerFixture.NewRequest();
        var messageId = Guid.NewGuid().ToString();
        var deadLetterId = Guid.NewGuid().ToString();
        var headers = new Dictionary<string, object?>
        {
            [VocabHeaders.DeadLetterId] = deadLetterId,
            [VocabHeaders.Reason] = RejectionReasons.LlmUnavailable,
            [VocabHeaders.UserId] = "u-forged",
            [VocabHeaders.Role] = "admin",
        };
        if (withSignatureHeaders)
        {
            headers[VocabHeaders.SignatureKeyId] = TestTokens.DeadLetterKeyId;
            headers[VocabHeaders.Signature] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        }
        await using (var channel = await fixture.Amqp.CreateChannelAsync())
        {
            await channel.BasicPublishAsync("", WorkerFixture.ErrorQueueName, false,
                new BasicProperties { MessageId = messageId, ContentType = "application/json", Headers = headers, Persistent = true },
                JsonSerializer.SerializeToUtf8Bytes(request, Web));
        }

        var listed = await _vocabctl.WaitForDeadLetterAsync(messageId);
        var replay = await _vocabctl.RunAsync("dlq", "replay", deadLetterId);
        var replayAll = await _vocabctl.RunAsync("dlq", "replay", "--all", "--json");
        var after = await _vocabctl.RunAsync("dlq", "list", "--json");

        Assert.Equal(deadLetterId, listed.GetProperty("deadLetterId").GetString());
        Assert.False(listed.GetProperty("verified").GetBoolean());
        Assert.NotEqual(0, replay.ExitCode);
        Assert.Contains("unverified", replay.Error, StringComparison.Ordinal);
        Assert.Contains(replayAll.Json.GetProperty("refused").EnumerateArray(), r => r.GetProperty("deadLetterId").GetString() == deadLetterId);
        // Still listed: a refused replay changes nothing but the failure's replay history.
        Assert.Contains(after.Json.EnumerateArray(), r => r.GetProperty("deadLetterId").GetString() == deadLetterId);
    }

    [Theory]
    [InlineData("user id")]
    [InlineData("role")]
    [InlineData("body")]
    [InlineData("reply-to")]
    public async Task SignedCopy_ChangedOnTheQueue_IsRefused_AndTheUnchangedCopyReplays(string change)
    {
        var (_, key) = await fixture.CreateApiKeyAsync("signed-owner");
        var request = WorkerFixture.NewRequest();
        // Changed on the queue, before the failure store takes it in.
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        Guid messageId;
        IReadOnlyBasicProperties properties;
        byte[] body;
        try
        {
            messageId = await fixture.SendAsync(request, c => c.UseApiKey(key));
            (properties, body) = await TakeAsync(messageId.ToString());
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
        var deadLetterId = DeadLetterReader.ToDeadLetterHeaders(properties)[VocabHeaders.DeadLetterId];

        var altered = new BasicProperties(properties) { Headers = new Dictionary<string, object?>(properties.Headers!) };
        var alteredBody = body;
        switch (change)
        {
            case "user id": altered.Headers[VocabHeaders.UserId] = "u-victim"; break;
            case "role": altered.Headers[VocabHeaders.Role] = "admin"; break;
            case "body": alteredBody = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace(request.VideoId, "video-of-the-attacker", StringComparison.Ordinal)); break;
            case "reply-to": altered.ReplyTo = "attacker-queue"; break;
        }
        await PublishToErrorQueueAsync(altered, alteredBody);

        var alteredRow = await _vocabctl.WaitForDeadLetterAsync(messageId.ToString());
        var refused = await _vocabctl.RunAsync("dlq", "replay", deadLetterId);
        Assert.False(alteredRow.GetProperty("verified").GetBoolean());
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("unverified", refused.Error, StringComparison.Ordinal);

        // The same copy as the worker wrote it verifies and replays, for the user the worker proved.
        await PublishToErrorQueueAsync(properties, body);
        Assert.Equal(0, (await _vocabctl.RunAsync("dlq", "ingest")).ExitCode);
        var shown = await _vocabctl.RunAsync("dlq", "show", deadLetterId, "--json");
        Assert.True(shown.Json.GetProperty("verified").GetBoolean());
        var replayed = await _vocabctl.RunAsync("dlq", "replay", deadLetterId, "--json");
        Assert.Equal(1, replayed.Json.GetProperty("replayed").GetInt32());
        var stored = await EventuallyAsync(() => fixture.Services.GetRequiredService<VocabularyStore>().FindByRequestIdAsync(request.RequestId, default));
        Assert.Equal("signed-owner", stored.UserId);
    }

    [Fact]
    public async Task TwoMessagesWithoutMessageId_AreReplayedOnlyByTheirOwnDeadLetterId()
    {
        var (_, keyA) = await fixture.CreateApiKeyAsync("no-id-a");
        var (_, keyB) = await fixture.CreateApiKeyAsync("no-id-b");
        var requestA = WorkerFixture.NewRequest();
        var requestB = WorkerFixture.NewRequest();
        // As the README's pika and amqplib recipes publish: plain JSON, no message_id.
        await WhileLlmFailsAsync(async () =>
        {
            await PublishWithoutMessageIdAsync(requestA, keyA);
            await PublishWithoutMessageIdAsync(requestB, keyB);
            return 0;
        }, waitFor: [requestA.VideoId, requestB.VideoId]);

        var rows = (await _vocabctl.RunAsync("dlq", "list", "--json")).Json.EnumerateArray().ToList();
        var rowA = rows.Single(r => r.GetProperty("videoId").GetString() == requestA.VideoId);
        var rowB = rows.Single(r => r.GetProperty("videoId").GetString() == requestB.VideoId);
        Assert.Equal("", rowA.GetProperty("messageId").GetString());
        Assert.Equal("", rowB.GetProperty("messageId").GetString());
        var idA = rowA.GetProperty("deadLetterId").GetString()!;
        var idB = rowB.GetProperty("deadLetterId").GetString()!;
        Assert.NotEqual(idA, idB);

        var replay = await _vocabctl.RunAsync("dlq", "replay", idA, "--json");

        Assert.Equal(1, replay.Json.GetProperty("replayed").GetInt32());
        var stored = await EventuallyAsync(() => fixture.Services.GetRequiredService<VocabularyStore>().FindByRequestIdAsync(requestA.RequestId, default));
        Assert.Equal("no-id-a", stored.UserId);
        var left = (await _vocabctl.RunAsync("dlq", "list", "--json")).Json.EnumerateArray().ToList();
        Assert.DoesNotContain(left, r => r.GetProperty("deadLetterId").GetString() == idA);
        Assert.Contains(left, r => r.GetProperty("deadLetterId").GetString() == idB);
    }

    private async Task PublishWithoutMessageIdAsync(GenerateVocabulary request, string key)
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        await channel.BasicPublishAsync("", WorkerFixture.QueueName, false,
            new BasicProperties { ContentType = "application/json", Headers = new Dictionary<string, object?> { [VocabHeaders.ApiKey] = key } },
            JsonSerializer.SerializeToUtf8Bytes(request, Web));
    }

    /// <summary>Waits for the copy of this message on the error queue and takes it off; the rest go back.</summary>
    private async Task<(IReadOnlyBasicProperties Properties, byte[] Body)> TakeAsync(string messageId)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            await using var channel = await fixture.Amqp.CreateChannelAsync();
            var held = new List<ulong>();
            try
            {
                while (await channel.BasicGetAsync(WorkerFixture.ErrorQueueName, autoAck: false) is { } result)
                {
                    if (result.BasicProperties.MessageId == messageId)
                    {
                        await channel.BasicAckAsync(result.DeliveryTag, false);
                        return (result.BasicProperties, result.Body.ToArray());
                    }
                    held.Add(result.DeliveryTag);
                }
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // The error queue is declared with the first failure.
                held.Clear();
            }
            finally
            {
                foreach (var tag in held)
                    await channel.BasicNackAsync(tag, false, requeue: true);
            }
            await Task.Delay(200);
        }
        throw new InvalidOperationException($"no copy of message {messageId} on the error queue");
    }

    private async Task PublishToErrorQueueAsync(IReadOnlyBasicProperties properties, byte[] body)
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync(new CreateChannelOptions(true, true));
        await channel.BasicPublishAsync("", WorkerFixture.ErrorQueueName, false, new BasicProperties(properties), body);
    }

    private async Task<T> WhileLlmFailsAsync<T>(Func<Task<T>> action, string[]? waitFor = null)
    {
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        try
        {
            var result = await action();
            foreach (var videoId in waitFor ?? [])
                await WaitForVideoAsync(videoId);
            if (result is Guid messageId)
                await _vocabctl.WaitForDeadLetterAsync(messageId.ToString());
            return result;
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    private async Task WaitForVideoAsync(string videoId)
    {
        for (var i = 0; i < 150; i++)
        {
            await _vocabctl.RunAsync("dlq", "ingest");
            var list = await _vocabctl.RunAsync("dlq", "list", "--json");
            if (list.ExitCode == 0 && list.Json.EnumerateArray().Any(r => r.GetProperty("videoId").GetString() == videoId))
                return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"no dead letter of video {videoId}");
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe) where T : class
    {
        for (var i = 0; i < 150; i++)
        {
            if (await probe() is { } value)
                return value;
            await Task.Delay(200);
        }
        throw new TimeoutException("condition not met");
    }
}
