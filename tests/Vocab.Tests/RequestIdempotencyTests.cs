using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;
using Vocab.Worker.Llm;

namespace Vocab.Tests;

/// <summary>
/// A requestId is an idempotency key bound to its first request: hostile reuse with other bodies buys nothing, honest
/// copies share one paid call, and every paid call is reserved and charged once. Real workers, broker, MongoDB and bridge.
/// </summary>
public sealed class RequestIdempotencyTests(RequestIdempotencyTests.IdempotencyWorker fixture) : IClassFixture<RequestIdempotencyTests.IdempotencyWorker>
{
    /// <summary>Users on a counting plan with a token quota, so every request goes through the ledger.</summary>
    public sealed class IdempotencyWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Plans:metered:MonthlyRequests"] = "1000",
            ["Plans:metered:MonthlyTokens"] = "100000000",
            ["Plans:metered:RequestsPerMinute"] = "1000",
            ["Plans:cjk:MonthlyTokens"] = "9000",
            ["Plans:RoleMap:user"] = "metered",
            ["Plans:RoleMap:premium"] = "cjk",
            ["Worker:InFlightWait"] = "00:00:20",
        };
    }

    [Fact]
    public async Task OneRequestId_SixteenDifferentTranscriptsAtOnce_AcrossThreeWorkers_PaysOneCall()
    {
        using var second = await fixture.StartAnotherWorkerAsync();
        using var third = await fixture.StartAnotherWorkerAsync();
        var user = $"hostile-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3) with { Delay = TimeSpan.FromMilliseconds(300) };
        var callsBefore = fixture.Llm.CallCount;
        var requestId = Guid.NewGuid();
        var copies = Enumerable.Range(0, 16).Select(i => WorkerFixture.NewRequest(transcript: $"Transcript number {i}: {Guid.NewGuid():N}") with { RequestId = requestId }).ToList();

        var outcomes = await Task.WhenAll(copies.Select(async copy =>
        {
            var response = await fixture.RequestAsync(copy, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
            return (copy, reason: response.Is(out Response<VocabularyGenerated>? _) ? "ok" : response.Is(out Response<GenerateVocabularyRejected>? r) ? r!.Message.Reason : "?");
        }));

        Assert.Single(outcomes, o => o.reason == "ok");
        Assert.Equal(15, outcomes.Count(o => o.reason == RejectionReasons.RequestIdReused));
        Assert.Equal(1, fixture.Llm.CallCount - callsBefore);
        var winner = outcomes.Single(o => o.reason == "ok").copy;
        var stored = await fixture.Database.GetCollection<VocabularyDocument>(VocabularyStore.CollectionName).Find(d => d.RequestId == requestId.ToString("D")).ToListAsync();
        var document = Assert.Single(stored);
        Assert.Equal(ReuseKey.For(winner, "fake-model", VocabularyPrompt.Version), document.ReuseKey);
        Assert.Equal(winner.VideoId, document.VideoId);
        await fixture.SettleOwedAsync(second, third);
        var usage = await fixture.Services.GetRequiredService<QuotaLedger>().GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
        Assert.Equal(1, usage.Requests);
        Assert.Equal(33, usage.UsedTokens);
        Assert.Equal(0, usage.ReservedTokens);
        Assert.Contains(fixture.Logs.Lines, m => m.Contains("requestId reused with a different request", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OneRequestId_SameBodySixteenTimesAtOnce_AcrossThreeWorkers_OneCallSixteenIdenticalAnswers()
    {
        using var second = await fixture.StartAnotherWorkerAsync();
        using var third = await fixture.StartAnotherWorkerAsync();
        var user = $"honest-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3) with { Delay = TimeSpan.FromMilliseconds(500) };
        var callsBefore = fixture.Llm.CallCount;
        var request = WorkerFixture.NewRequest();

        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            var response = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(90));
            Assert.True(response.Is(out Response<VocabularyGenerated>? generated), "every copy is answered with the list");
            return generated!.Message;
        }));

        Assert.Equal(1, fixture.Llm.CallCount - callsBefore);
        Assert.All(answers, a => Assert.Equal(JsonSerializer.Serialize(answers[0].Items), JsonSerializer.Serialize(a.Items)));
        Assert.All(answers, a => Assert.Equal(request.RequestId, a.RequestId));
        await fixture.SettleOwedAsync(second, third);
        var usage = await fixture.Services.GetRequiredService<QuotaLedger>().GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
        Assert.Equal(1, usage.Requests);
        Assert.Equal(33, usage.UsedTokens);
    }

    [Fact]
    public async Task FailedRequest_ResentWithTheSameId_ReservesAgainAndIsChargedWhenServed()
    {
        var user = $"resent-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var request = WorkerFixture.NewRequest();
        var ledger = fixture.Services.GetRequiredService<QuotaLedger>();
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;

        var failed = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
        Assert.True(failed.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
        var afterFailure = await ledger.GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
        Assert.Equal(0, afterFailure.ReservedTokens);
        // The failure is recorded under the requestId, with the month it was counted in.
        var vocabularies = fixture.Database.GetCollection<VocabularyDocument>(VocabularyStore.CollectionName);
        var record = await vocabularies.Find(d => d.RequestId == request.RequestId.ToString("D")).SingleAsync();
        Assert.Equal(UsageMonth.Of(DateTimeOffset.UtcNow), record.FailedInMonth);
        Assert.False(record.IsAnswer);

        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var served = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));

        Assert.True(served.Is(out Response<VocabularyGenerated>? _));
        var usage = await ledger.GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
        Assert.Equal(1, usage.Requests);
        Assert.Equal(33, usage.UsedTokens);
        Assert.Equal(0, usage.ReservedTokens);
        Assert.Equal(33, usage.CommittedTokens);
        Assert.Empty(usage.Open);
        // Served: the answer took the failure record's place.
        var answer = await vocabularies.Find(d => d.RequestId == request.RequestId.ToString("D")).SingleAsync();
        Assert.True(answer.IsAnswer);
        Assert.Equal(3, answer.Items.Count);
        Assert.Null(answer.ExpiresAt);
    }

    /// <summary>A failed request's id is still bound to its body: a resend with another one is refused before the LLM, and not counted.</summary>
    [Fact]
    public async Task FailedRequest_ResentWithAnotherBody_IsRefusedAsReused_WithoutAnLlmCall()
    {
        var user = $"resent-other-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var request = WorkerFixture.NewRequest();
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        Assert.True((await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60))).Is(out Response<GenerateVocabularyRejected>? _));
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var callsBefore = fixture.Llm.CallCount;

        var other = await fixture.RequestAsync(request with { Transcript = "Another body under the failed request's id." }, c => c.UseApiKey(key),
            TimeSpan.FromSeconds(60));

        Assert.True(other.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.RequestIdReused, rejected!.Message.Reason);
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
        var usage = await fixture.Services.GetRequiredService<QuotaLedger>().GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
        Assert.Equal(1, usage.Requests);
        Assert.Empty(usage.Open);
    }

    [Fact]
    public async Task UnusableAnswers_AreChargedToTheCaller_AndAResendReservesAgain()
    {
        var user = $"garbage-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var request = WorkerFixture.NewRequest();
        var ledger = fixture.Services.GetRequiredService<QuotaLedger>();
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Garbage;
        var callsBefore = fixture.Llm.CallCount;

        var failed = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
        Assert.True(failed.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.LlmInvalidOutput, rejected!.Message.Reason);
        var calls = fixture.Llm.CallCount - callsBefore;
        var afterFailure = await ledger.GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);

        // Every unusable answer was paid for, and is charged: resending the same id is not a free loop.
        Assert.Equal(2, calls);
        Assert.Equal(33 * calls, afterFailure.UsedTokens);
        Assert.Equal(0, afterFailure.ReservedTokens);

        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var served = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
        Assert.True(served.Is(out Response<VocabularyGenerated>? _));
        var usage = await ledger.GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
        Assert.Equal(1, usage.Requests);
        Assert.Equal(33 * (calls + 1), usage.UsedTokens);
        Assert.Equal(0, usage.ReservedTokens);
    }

    [Fact]
    public void OneHugeWord_IsCountedAsAnUpperBound_NotTokenized()
    {
        var word = new string('a', GenerateVocabularyRules.MaxTranscriptLength);
        var estimate = fixture.Services.GetRequiredService<RequestTokenEstimator>().Estimate(WorkerFixture.NewRequest(transcript: word));

        Assert.InRange(estimate, word.Length, word.Length + 10_000);
    }

    [Fact]
    public async Task FreshMonthAndWindow_TwentyConcurrentFirstRequests_NoneRefusedUnderTheLimits()
    {
        var admission = fixture.Services.GetRequiredService<PlanAdmission>();
        var plan = new Plan("fresh", new PlanOptions { MonthlyRequests = 20, RequestsPerMinute = 20, MonthlyTokens = 20_000 });
        var user = $"fresh-{Guid.NewGuid():N}";

        var decisions = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => admission.AdmitAsync(WorkerFixture.NewRequest(), user, plan, 1_000, default)));
        var over = await admission.AdmitAsync(WorkerFixture.NewRequest(), user, plan, 1_000, default);

        Assert.All(decisions, d => Assert.True(d.Admitted, d.RefusalReason));
        Assert.False(over.Admitted);
        Assert.Equal(20, (await fixture.Services.GetRequiredService<QuotaLedger>().GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default)).Requests);
    }

    [Fact]
    public async Task ZeroLimits_AdmitNothing_AndARequestBiggerThanTheMonthIsRefused()
    {
        var admission = fixture.Services.GetRequiredService<PlanAdmission>();
        var user = $"zero-{Guid.NewGuid():N}";

        var noRequests = await admission.AdmitAsync(WorkerFixture.NewRequest(), user, new Plan("none", new PlanOptions { MonthlyRequests = 0 }), 10, default);
        var noTokens = await admission.AdmitAsync(WorkerFixture.NewRequest(), user, new Plan("no-tokens", new PlanOptions { MonthlyTokens = 0 }), 10, default);
        var tooBig = await admission.AdmitAsync(WorkerFixture.NewRequest(), $"{user}-b", new Plan("small", new PlanOptions { MonthlyTokens = 500 }), 501, default);

        Assert.Equal(RejectionReasons.QuotaExceeded, noRequests.RefusalReason);
        Assert.Equal(RejectionReasons.QuotaExceeded, noTokens.RefusalReason);
        Assert.Equal(RejectionReasons.QuotaExceeded, tooBig.RefusalReason);
        Assert.Equal(0, (await fixture.Services.GetRequiredService<QuotaLedger>().GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default)).Requests);
    }

    [Fact]
    public async Task CjkTranscript_IsReservedAtItsRealTokenCount_AndRefusedBeforeTheLlm()
    {
        // 3,000 characters either way: length / 4 would reserve the same for both.
        var cjk = string.Concat(Enumerable.Repeat("今日は良い天気ですね。私は日本語を勉強しています。", 120))[..3000];
        var latin = string.Concat(Enumerable.Repeat("Today the weather is nice and I study languages. ", 70))[..3000];
        var estimator = fixture.Services.GetRequiredService<RequestTokenEstimator>();
        var cjkEstimate = estimator.Estimate(WorkerFixture.NewRequest(transcript: cjk));
        var latinEstimate = estimator.Estimate(WorkerFixture.NewRequest(transcript: latin));
        Assert.True(cjkEstimate > 2 * latinEstimate, $"CJK {cjkEstimate} vs Latin {latinEstimate}");
        Assert.InRange(latinEstimate, 1, 8_999);
        Assert.True(cjkEstimate > 9_000, $"CJK estimate {cjkEstimate}");

        var (_, key) = await fixture.CreateApiKeyAsync($"cjk-{Guid.NewGuid():N}", role: Authentication.Roles.Premium);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var callsBefore = fixture.Llm.CallCount;
        var refused = await fixture.RequestAsync(WorkerFixture.NewRequest(transcript: cjk), c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
        var callsAfterRefusal = fixture.Llm.CallCount;
        var served = await fixture.RequestAsync(WorkerFixture.NewRequest(transcript: latin), c => c.UseApiKey(key), TimeSpan.FromSeconds(60));

        Assert.True(refused.Is(out Response<GenerateVocabularyRejected>? rejection));
        Assert.Equal(RejectionReasons.QuotaExceeded, rejection!.Message.Reason);
        Assert.Equal(callsBefore, callsAfterRefusal);
        Assert.True(served.Is(out Response<VocabularyGenerated>? _));
    }

    private async Task WaitUntilLeasedAsync(string user)
    {
        var usage = fixture.Database.GetCollection<UsageDocument>(QuotaLedger.UsageCollection);
        var usageId = $"{user}|{UsageMonth.Of(DateTimeOffset.UtcNow)}";
        for (var i = 0; i < 200 && !((await usage.Find(u => u.Id == usageId).FirstOrDefaultAsync())?.Open.Values.Any(o => o.Owner != null) ?? false); i++)
            await Task.Delay(50);
    }

    [Fact]
    public async Task FailureRecords_HaveATtlIndex_AfterStart()
    {
        // Rates, reservations and in-flight claims live in the month's usage document, bounded by the month; the records of
        // failed requests (in the answers' collection, under their requestId) expire by TTL. Answers carry no expiresAt.
        foreach (var collection in new[] { VocabularyStore.CollectionName })
        {
            BsonDocument? ttl = null;
            for (var i = 0; i < 100 && ttl is null; i++)
            {
                var indexes = await (await fixture.Database.GetCollection<BsonDocument>(collection).Indexes.ListAsync()).ToListAsync();
                ttl = indexes.FirstOrDefault(x => x.Contains("expireAfterSeconds") && x["key"].AsBsonDocument.Contains("expiresAt"));
                if (ttl is null)
                    await Task.Delay(100);
            }
            Assert.True(ttl is not null, $"{collection} has a TTL index on expiresAt");
        }
        var record = await fixture.Database.GetCollection<VocabularyDocument>(VocabularyStore.CollectionName).Find(d => d.FailedInMonth != null).FirstOrDefaultAsync();
        if (record is not null)
            Assert.InRange(record.ExpiresAt!.Value - record.CreatedAt, TimeSpan.FromDays(399), TimeSpan.FromDays(401));
    }

    [Fact]
    public async Task Bridge_IdempotencyKey_ReusedWithAnotherBody_Is422_SameBodyIsTheStoredAnswer_InFlightIs409()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration());
        await bridge.WaitUntilReadyAsync();
        var user = $"bridge-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3) with { Delay = TimeSpan.FromSeconds(2) };
        var callsBefore = fixture.Llm.CallCount;
        var idempotencyKey = Guid.NewGuid().ToString("N");

        var first = Post(bridge, key, idempotencyKey, "The first body of this key.");
        // In flight: the admission's reservation holds the producer's lease.
        await WaitUntilLeasedAsync(user);
        using var inFlight = await Post(bridge, key, idempotencyKey, "The first body of this key.");
        using var reused = await Post(bridge, key, idempotencyKey, "Another body under the same key.");
        using var answered = await first;
        using var again = await Post(bridge, key, idempotencyKey, "The first body of this key.");

        Assert.Equal(HttpStatusCode.Conflict, inFlight.StatusCode);
        Assert.NotNull(inFlight.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var firstBody = await answered.Content.ReadFromJsonAsync<JsonElement>();
        var againBody = await again.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(firstBody.GetProperty("requestId").GetString(), againBody.GetProperty("requestId").GetString());
        Assert.Equal(firstBody.GetProperty("items").GetRawText(), againBody.GetProperty("items").GetRawText());
        Assert.Equal(1, fixture.Llm.CallCount - callsBefore);
    }

    /// <summary>
    /// A bus publisher that knows a bridge caller's user id and <c>Idempotency-Key</c> (a guessable one) computes the
    /// requestId the bridge will use and claims it first with a body of its own: unkeyed, the caller is then told its id
    /// is reused; with <c>Bridge:IdempotencySecret</c> nobody else can compute it.
    /// </summary>
    [Theory]
    [InlineData(false, HttpStatusCode.UnprocessableEntity)]
    [InlineData(true, HttpStatusCode.OK)]
    public async Task Bridge_IdempotencyKey_ClaimedFirstByAPublisherWhoComputedIt_OnlyWithoutASecret(bool keyed, HttpStatusCode expected)
    {
        var configuration = fixture.BridgeConfiguration();
        if (keyed)
            configuration["Bridge:IdempotencySecret"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var bridge = await BridgeHost.StartAsync(configuration);
        await bridge.WaitUntilReadyAsync();
        var victim = $"victim-{Guid.NewGuid():N}";
        var (_, victimKey) = await fixture.CreateApiKeyAsync(victim);
        var (_, attackerKey) = await fixture.CreateApiKeyAsync($"attacker-{Guid.NewGuid():N}");
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        const string guessable = "order-42";
        var computed = new Guid(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{victim}\n{guessable}")).AsSpan(0, 16));
        var template = WorkerFixture.NewRequest();
        var preclaimed = new GenerateVocabulary
        {
            RequestId = computed, VideoId = template.VideoId, Transcript = "The attacker's own body.", SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 3,
        };
        Assert.True((await fixture.RequestAsync(preclaimed, c => c.UseApiKey(attackerKey))).Is(out Response<VocabularyGenerated>? _));

        using var answered = await Post(bridge, victimKey, guessable, "The caller's own body.");

        Assert.Equal(expected, answered.StatusCode);
    }

    /// <summary>
    /// When a broker node goes down before confirming a publish, the publisher sends it again: a second copy of the same
    /// message (same message id), not marked redelivered, reaches another consumer while the first is produced. The
    /// requester asked once and waits for one answer; the copy waits for the first one's answer instead of telling it
    /// <c>request_in_progress</c> (which a bridge caller would get as a 409 for a request it sent once). Found by the
    /// cluster test's leader-node loss.
    /// </summary>
    [Fact]
    public async Task SameMessagePublishedTwice_WhileTheFirstCopyIsProduced_TheRequesterGetsItsAnswer_NotInProgress()
    {
        var user = $"twice-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3) with { Delay = TimeSpan.FromSeconds(2) };
        var callsBefore = fixture.Llm.CallCount;
        var request = WorkerFixture.NewRequest();
        SendContext? sent = null;
        var answer = fixture.RequestAsync(request, c =>
        {
            c.UseApiKey(key);
            c.Headers.Set(VocabHeaders.AnswerWithoutWaiting, "true");
            sent = c;
        });
        // In flight: the admission's reservation holds the producer's lease.
        await WaitUntilLeasedAsync(user);

        var endpoint = await fixture.Publisher.GetSendEndpoint(new Uri($"queue:{WorkerFixture.QueueName}"));
        await endpoint.Send(request, c =>
        {
            c.MessageId = sent!.MessageId;
            c.RequestId = sent.RequestId;
            c.ResponseAddress = sent.ResponseAddress;
            c.UseApiKey(key);
            c.Headers.Set(VocabHeaders.AnswerWithoutWaiting, "true");
        });
        var response = await answer;

        if (response.Is(out Response<GenerateVocabularyRejected>? rejected))
            Assert.Fail($"the requester was refused: {rejected.Message.Reason}");
        Assert.True(response.Is(out Response<VocabularyGenerated>? generated));
        Assert.Equal(request.RequestId, generated!.Message.RequestId);
        Assert.Equal(1, fixture.Llm.CallCount - callsBefore);
    }

    private static Task<HttpResponseMessage> Post(BridgeHost bridge, string apiKey, string idempotencyKey, string transcript)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/videos/idem/vocabulary")
        {
            Content = JsonContent.Create(new { transcript, sourceLanguage = "en", targetLanguage = "ko", maxItems = 5 }),
        };
        request.Headers.Add(VocabHeaders.ApiKey, apiKey);
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return bridge.Client.SendAsync(request);
    }
}
