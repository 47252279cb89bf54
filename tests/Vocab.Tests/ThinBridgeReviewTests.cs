using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Vocabularies;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// Review of the thin bridge (the worker answers a waiting requester at once): a refusal answered to a requester that may
/// not be listening is still filed, a replayed bridge request is an ordinary bus message, and no answer reaches the
/// event exchanges whatever response address a publisher names.
/// </summary>
public sealed class ThinBridgeReviewTests(ThinBridgeReviewTests.QuotaWorker fixture) : IClassFixture<ThinBridgeReviewTests.QuotaWorker>
{
    /// <summary>Users on a plan of two requests a month, so a quota refusal is one request away.</summary>
    public sealed class QuotaWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Plans:pair:MonthlyRequests"] = "2",
            ["Plans:RoleMap:user"] = "pair",
            ["Plans:single:RequestsPerMinute"] = "1",
            ["Plans:RoleMap:premium"] = "single",
            ["Llm:RetryLimit"] = "0",
        };
    }

    private readonly VocabCtlRunner _vocabctl = new(fixture);

    /// <summary>
    /// After an LLM outage ops replay a user's failures. A request the bridge sent was dead-lettered with the bridge's
    /// <c>X-Vocab-Answer-Without-Waiting</c> and response address still on it (nothing removes them from the copy, and a
    /// replay sends them on). Over the user's rate, the replay is then "answered" <c>rate_limited</c> at once, to a bridge
    /// that has no such request pending and drops it, and, counting as answered, is consumed without being filed: the
    /// failure reads "replayed", nobody got the answer, no dead letter holds it. Before the change (and for any replay
    /// without the header) it waited for the rate window on the delay queue and was served.
    /// </summary>
    [Fact]
    public async Task ReplayOfABridgeRequest_OverTheRate_IsServedOrFiled_NotSwallowedAsAnswered()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration());
        await bridge.WaitUntilReadyAsync();
        var user = $"replay-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user, role: Roles.Premium);
        var video = $"replayed-{Guid.NewGuid():N}";

        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        using (var failed = await Post(bridge, key, video))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var row = await WaitForRowAsync(video, r => r.GetProperty("reason").GetString() == RejectionReasons.LlmUnavailable);
        var failureId = row.GetProperty("id").GetString()!;
        var messageId = row.GetProperty("messageId").GetString()!;

        // The user's own traffic fills its rate window (one a minute) just before ops replay.
        using (var spend = await Post(bridge, key, $"spend-{Guid.NewGuid():N}"))
            Assert.True(spend.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, spend.StatusCode.ToString());
        var failuresBefore = FailedForGood(messageId);
        var replay = await _vocabctl.RunAsync("dlq", "replay", failureId, "--json");
        Assert.True(replay.ExitCode == 0, replay.ToString());
        Assert.Equal(1, replay.Json.GetProperty("replayed").GetInt32());

        // Served (after waiting for the window) or filed again; bounded: the rate window is a minute.
        var vocabularies = fixture.Database.GetCollection<BsonDocument>(VocabularyStore.CollectionName);
        DateTime? refusedAt = null;
        for (var i = 0; i < 450; i++)
        {
            if (await vocabularies.CountDocumentsAsync(new BsonDocument("videoId", video)) > 0)
                return;
            if (await TryWaitForRowAsync(video, r => r.GetProperty("reason").GetString() != RejectionReasons.LlmUnavailable, attempts: 1) is not null)
                return;
            if (refusedAt is null && FailedForGood(messageId) > failuresBefore)
                refusedAt = DateTime.UtcNow;
            // Refused for good and, ten seconds on, filed nowhere: it will never be.
            if (refusedAt is { } at && DateTime.UtcNow - at > TimeSpan.FromSeconds(10))
                break;
        }
        Assert.Fail($"the replay of {messageId} was neither served nor filed again. Worker: " + string.Join(" | ",
            fixture.Logs.Lines.Where(l => l.Contains(messageId, StringComparison.OrdinalIgnoreCase) && l.Contains("failed for good", StringComparison.Ordinal))) +
            $" Rows for the video: {await RowsAsync(video)}");
    }

    /// <summary>
    /// A raw publisher asks for its answer without waiting, with a <c>reply_to</c> queue that is gone (its client
    /// reconnected, an exclusive queue died with it). The worker's reply goes to the default exchange unroutable and
    /// unconfirmed-as-delivered (mandatory: false), counts as answered, and the refusal is consumed and filed nowhere.
    /// </summary>
    [Fact]
    public async Task RawRefusal_ToAReplyQueueThatIsGone_IsStillFiled()
    {
        var user = $"raw-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        for (var i = 0; i < 2; i++)
        {
            var served = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
            Assert.True(served.Is(out Response<VocabularyGenerated>? _));
        }

        var request = WorkerFixture.NewRequest();
        var messageId = Guid.NewGuid().ToString();
        await using (var channel = await fixture.Amqp.CreateChannelAsync())
        {
            var properties = new BasicProperties
            {
                ContentType = "application/json", ReplyTo = $"{ReplyQueues.ServerNamedPrefix}gone-{Guid.NewGuid():N}", CorrelationId = Guid.NewGuid().ToString(), MessageId = messageId,
                Headers = new Dictionary<string, object?> { [VocabHeaders.ApiKey] = key, [VocabHeaders.AnswerWithoutWaiting] = "true" },
            };
            await channel.BasicPublishAsync(WorkerFixture.QueueName, "", false, properties,
                JsonSerializer.SerializeToUtf8Bytes(request, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        }
        for (var i = 0; i < 150 && FailedForGood(messageId) == 0; i++)
            await Task.Delay(200);
        Assert.True(FailedForGood(messageId) > 0, "the worker never refused the message");
        Assert.Contains(fixture.Logs.Lines, l => l.Contains(messageId, StringComparison.OrdinalIgnoreCase) && l.Contains(RejectionReasons.QuotaExceeded, StringComparison.Ordinal));

        // Answered to a requester that asked not to wait, it is filed as a refusal: metadata only (no body, so no video), by user.
        var filed = await TryWaitForRowAsync(user, r => r.GetProperty("reason").GetString() == RejectionReasons.QuotaExceeded, by: "--user",
            refused: true);
        Assert.True(filed is not null,
            $"message {messageId} was refused quota_exceeded, its reply went to a queue that does not exist, and it was consumed and filed nowhere");
    }

    /// <summary>
    /// A hostile publisher with a valid key names another user's requestId and sets its MassTransit response address to the
    /// <c>GenerateVocabularyRejected</c> event exchange, which the worker's broker account may write (rabbitmq/definitions.json)
    /// and every event subscriber reads. The worker refuses it <c>request_id_reused</c> and "answers" it there: subscribers
    /// read that the victim's request was rejected. The worker itself publishes no such event (a refusal before the claim
    /// could name someone else's request), and since the refusal counts as answered, no dead letter records who did it.
    /// </summary>
    [Fact]
    public async Task RefusalOfAnotherUsersRequestId_AnsweredToTheEventExchange_ReachesNoEventSubscriber()
    {
        var (_, victimKey) = await fixture.CreateApiKeyAsync($"victim-{Guid.NewGuid():N}");
        var attacker = $"attacker-{Guid.NewGuid():N}";
        var (_, attackerKey) = await fixture.CreateApiKeyAsync(attacker);
        var victims = WorkerFixture.NewRequest();
        var served = await fixture.RequestAsync(victims, c => c.UseApiKey(victimKey));
        Assert.True(served.Is(out Response<VocabularyGenerated>? _));

        const string rejections = "Vocab.Contracts:GenerateVocabularyRejected";
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(rejections, ExchangeType.Fanout, durable: true);
        var events = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(events, rejections, "");

        await fixture.SendAsync(WorkerFixture.NewRequest() with { RequestId = victims.RequestId }, c =>
        {
            c.UseApiKey(attackerKey);
            c.ResponseAddress = new Uri($"exchange:{rejections}");
            c.Headers.Set(VocabHeaders.AnswerWithoutWaiting, "true");
        });
        var refusedLine = $"{victims.RequestId}";
        for (var i = 0; i < 150 && !fixture.Logs.Lines.Any(l => l.Contains(refusedLine, StringComparison.OrdinalIgnoreCase) && l.Contains(attacker, StringComparison.Ordinal)
            && l.Contains("reused", StringComparison.Ordinal)); i++)
            await Task.Delay(200);
        Assert.Contains(fixture.Logs.Lines, l => l.Contains(refusedLine, StringComparison.OrdinalIgnoreCase) && l.Contains(attacker, StringComparison.Ordinal));

        var named = new List<string>();
        for (var i = 0; i < 25; i++)
        {
            var delivery = await channel.BasicGetAsync(events, autoAck: true);
            if (delivery is null)
            {
                await Task.Delay(200);
                continue;
            }
            var body = System.Text.Encoding.UTF8.GetString(delivery.Body.Span);
            if (body.Contains(victims.RequestId.ToString(), StringComparison.OrdinalIgnoreCase))
                named.Add(body);
        }
        Assert.True(named.Count == 0, "event subscribers read a rejection of the victim's request, sent by the attacker's choice: " + string.Join(" | ", named));
    }

    private int FailedForGood(string messageId) =>
        fixture.Logs.Lines.Count(l => l.Contains(messageId, StringComparison.OrdinalIgnoreCase) && l.Contains("failed for good", StringComparison.Ordinal));

    private async Task<JsonElement> WaitForRowAsync(string video, Func<JsonElement, bool> match) =>
        await TryWaitForRowAsync(video, match, attempts: 150) ?? throw new TimeoutException($"no dead letter for video {video}: {await RowsAsync(video)}");

    // Ingests what the dead-letter queues hold and looks for the video's row: bounded, so a missing copy fails the test.
    private async Task<JsonElement?> TryWaitForRowAsync(string value, Func<JsonElement, bool> match, int attempts = 50, string by = "--video", bool refused = false)
    {
        for (var i = 0; i < attempts; i++)
        {
            var ingest = await _vocabctl.RunAsync("dlq", "ingest");
            Assert.True(ingest.ExitCode == 0, ingest.ToString());
            var list = refused
                ? await _vocabctl.RunAsync("dlq", "list", by, value, "--status", "all", "--refused", "--json")
                : await _vocabctl.RunAsync("dlq", "list", by, value, "--status", "all", "--json");
            if (list.ExitCode == 0 && list.Json.EnumerateArray().FirstOrDefault(match) is { ValueKind: JsonValueKind.Object } row)
                return row.Clone();
            await Task.Delay(200);
        }
        return null;
    }

    private async Task<string> RowsAsync(string video) =>
        (await _vocabctl.RunAsync("dlq", "list", "--video", video, "--status", "all", "--json")).Output;

    private static Task<HttpResponseMessage> Post(BridgeHost bridge, string apiKey, string video)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/{video}/vocabulary")
        {
            Content = JsonContent.Create(new { transcript = $"Words to learn today. ({Guid.NewGuid():N})", sourceLanguage = "en", targetLanguage = "ko", maxItems = 5 }),
        };
        request.Headers.Add(VocabHeaders.ApiKey, apiKey);
        return bridge.Client.SendAsync(request);
    }
}
