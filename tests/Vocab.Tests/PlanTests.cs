using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Storage;
using Vocab.Vocabularies;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>Plans, quotas and rate limits through real worker processes, the bridge, RabbitMQ and MongoDB.</summary>
public sealed class PlanTests(PlanTests.PlanWorker fixture) : IClassFixture<PlanTests.PlanWorker>
{
    /// <summary>Three test plans, one per role: tiny (50 a month, maxItems 10), burst (30 per 2 s window), narrow (2 per window).</summary>
    public sealed class PlanWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Plans:tiny:MonthlyRequests"] = "50",
            ["Plans:tiny:MaxItems"] = "10",
            ["Plans:burst:RequestsPerMinute"] = "30",
            ["Plans:narrow:RequestsPerMinute"] = "2",
            ["Plans:RoleMap:user"] = "tiny",
            ["Plans:RoleMap:premium"] = "burst",
            ["Plans:RoleMap:admin"] = "narrow",
            ["RateLimits:Window"] = "00:00:02",
            ["RateLimits:MaxDelay"] = "00:01:00",
        };
    }

    [Fact]
    public async Task MonthlyQuota_AcrossThreeWorkersAndTheBridge_AdmitsExactlyTheLimit()
    {
        using var second = await fixture.StartAnotherWorkerAsync();
        using var third = await fixture.StartAnotherWorkerAsync();
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration());
        await bridge.WaitUntilReadyAsync();
        var (_, key) = await fixture.CreateApiKeyAsync("quota-user", role: Roles.User);
        var callsBefore = fixture.Llm.Requests.Count;

        var overBus = Enumerable.Range(0, 100).Select(async _ =>
        {
            var message = WorkerFixture.NewRequest(maxItems: 5);
            var response = await fixture.RequestAsync(message, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
            return (Transcript: message.Transcript, Outcome: response.Is(out Response<VocabularyGenerated>? _) ? "ok"
                : response.Is(out Response<GenerateVocabularyRejected>? r) ? r!.Message.Reason : "?");
        });
        var overHttp = Enumerable.Range(0, 100).Select(async i =>
        {
            var transcript = $"Quota transcript {Guid.NewGuid():N}";
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/quota-{i}/vocabulary")
            {
                Content = JsonContent.Create(new { transcript, sourceLanguage = "en", targetLanguage = "ko", maxItems = 5 }),
            };
            request.Headers.Add(VocabHeaders.ApiKey, key);
            using var response = await bridge.Client.SendAsync(request);
            return (Transcript: transcript, Outcome: response.StatusCode switch
            {
                HttpStatusCode.OK => "ok", HttpStatusCode.PaymentRequired => RejectionReasons.QuotaExceeded, var s => $"HTTP {(int)s}",
            });
        });
        var outcomes = await Task.WhenAll(overBus.Concat(overHttp));

        var usage = await fixture.Services.GetRequiredService<QuotaLedger>().GetAsync("quota-user", UsageMonth.Of(DateTimeOffset.UtcNow), default);
        var served = outcomes.Where(o => o.Outcome == "ok").Select(o => o.Transcript).ToHashSet();
        var summary = $"answered {outcomes.Take(100).Count(o => o.Outcome == "ok")} on the bus and {outcomes.Skip(100).Count(o => o.Outcome == "ok")} over HTTP; " +
            $"month counted {usage.Requests} requests, {usage.ReservedTokens} tokens reserved; bus: " +
            string.Join(", ", outcomes.Take(100).GroupBy(o => o.Outcome).Select(g => $"{g.Key} {g.Count()}")) + "; HTTP: " +
            string.Join(", ", outcomes.Skip(100).GroupBy(o => o.Outcome).Select(g => $"{g.Key} {g.Count()}"));
        Assert.True(served.Count == 50, summary);
        Assert.True(outcomes.Count(o => o.Outcome == RejectionReasons.QuotaExceeded) == 150, summary);
        Assert.Equal(50, usage.Requests);
        // The LLM saw exactly the served requests: none refused reached it. (A call that timed out on a loaded machine is
        // retried under the same admission, so calls are counted by request, not one by one.)
        var called = fixture.Llm.Requests.Skip(callsBefore).Select(r => r.RootElement.GetRawText())
            .Select(call => outcomes.Single(o => call.Contains(o.Transcript, StringComparison.Ordinal)).Transcript).ToHashSet();
        Assert.Equal(served.Order(), called.Order());
    }

    [Fact]
    public async Task Burst_OverTheRate_OnTheBus_IsDelayedNotDeadLettered()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("burst-user", role: Roles.Premium);
        var callsBefore = fixture.Llm.CallCount;
        var store = fixture.Services.GetRequiredService<VocabularyStore>();

        for (var i = 0; i < 90; i++)
            await fixture.SendAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((await store.ListForUserAsync("burst-user", 1, 100, default)).Count < 90 && DateTime.UtcNow < deadline)
            await Task.Delay(250);

        Assert.Equal(90, (await store.ListForUserAsync("burst-user", 1, 100, default)).Count);
        Assert.Equal(90, fixture.Llm.CallCount - callsBefore);
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("burst-user", StringComparison.Ordinal) && l.Contains("back on the queue", StringComparison.Ordinal));
        Assert.DoesNotContain(await ErrorQueueUsersAsync(), u => u == "burst-user");
    }

    [Fact]
    public async Task DelayQueue_DeletedAfterUse_IsDeclaredAgain_AndNothingIsLost()
    {
        var user = $"narrow-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user, role: Roles.Admin);
        var store = fixture.Services.GetRequiredService<VocabularyStore>();
        async Task SendAndAwaitAsync(int count, int total)
        {
            for (var i = 0; i < count; i++)
                await fixture.SendAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await store.ListForUserAsync(user, 1, 100, default)).Count < total && DateTime.UtcNow < deadline)
                await Task.Delay(250);
            Assert.Equal(total, (await store.ListForUserAsync(user, 1, 100, default)).Count);
        }

        // Two a window: the others wait on a delay queue (1 s or 2 s, by how much of the window is left), which the worker
        // declares once per connection. Five a round, so that one window gets three even if a window turns between two of
        // them; rounds until the worker has used both queues, so that whichever the last round uses is one it declared.
        var vhost = Uri.EscapeDataString(fixture.VirtualHost.Name);
        var sent = 0;
        string[] steps = [WorkerFixture.QueueName + "_delay_1s", WorkerFixture.QueueName + "_delay_2s"];
        for (var round = 0; round < 8 && !steps.All((await DelayQueuesAsync(vhost)).Contains); round++)
            await SendAndAwaitAsync(5, sent += 5);
        var delayQueues = await DelayQueuesAsync(vhost);
        Assert.Subset(delayQueues.ToHashSet(), steps.ToHashSet());
        foreach (var queue in delayQueues)
            (await fixture.VirtualHost.Management.DeleteAsync($"api/queues/{vhost}/{Uri.EscapeDataString(queue)}")).EnsureSuccessStatusCode();
        Assert.Empty(await DelayQueuesAsync(vhost));

        // Deleted behind the worker's back (ops, a policy): the publish to it comes back, and it is declared again.
        await SendAndAwaitAsync(5, sent += 5);
        Assert.NotEmpty(await DelayQueuesAsync(vhost));
        Assert.DoesNotContain(await ErrorQueueUsersAsync(), u => u == user);
    }

    [Fact]
    public void TheWorkerSweepsItsDelayQueues() =>
        // What the sweep does is DelayQueueSweeperTests'; here, that the production worker runs it.
        Assert.Contains(fixture.Services.GetServices<IHostedService>(), s => s is Worker.Messaging.DelayQueueSweeper);

    private async Task<List<string>> DelayQueuesAsync(string vhost)
    {
        using var queues = JsonDocument.Parse(await fixture.VirtualHost.Management.GetStringAsync($"api/queues/{vhost}"));
        return queues.RootElement.EnumerateArray().Select(q => q.GetProperty("name").GetString()!)
            .Where(n => n.StartsWith(WorkerFixture.QueueName + "_delay_", StringComparison.Ordinal)).ToList();
    }

    [Fact]
    public async Task Bridge_OverTheRate_Answers429WithRetryAfterAndRateLimitHeaders()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration());
        await bridge.WaitUntilReadyAsync();
        var narrowUser = $"narrow-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(narrowUser, role: Roles.Admin);

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/narrow-{i}/vocabulary")
            {
                Content = JsonContent.Create(new { transcript = $"Narrow {Guid.NewGuid():N}", sourceLanguage = "en", targetLanguage = "ko", maxItems = 3 }),
            };
            request.Headers.Add(VocabHeaders.ApiKey, key);
            responses.Add(await bridge.Client.SendAsync(request));
        }

        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, r =>
        {
            Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            Assert.Equal("\"plan\";q=2;w=2", r.Headers.GetValues("RateLimit-Policy").Single());
            Assert.StartsWith("\"plan\";r=0;t=", r.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
        });
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK && r.Headers.Contains("RateLimit"));

        // The bridge's caller has its 429: the worker files no replayable copy of it (only metadata, on _refused). A bus request with an invalid body
        // from the same user, sent after them, is filed there too; once it is, the user has no copy on the error queue.
        var markerId = NewId.NextGuid();
        var marker = await fixture.RequestAsync(WorkerFixture.NewRequest(maxItems: 1_000_000), c =>
        {
            c.MessageId = markerId;
            c.UseApiKey(key);
        });
        Assert.True(marker.Is(out Response<GenerateVocabularyRejected>? _));
        await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, markerId);
        Assert.DoesNotContain(await ErrorQueueUsersAsync(), u => u == narrowUser);
    }

    [Fact]
    public async Task Request_BeyondThePlan_IsForbiddenWithoutAnLlmCall()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration());
        await bridge.WaitUntilReadyAsync();
        var (_, key) = await fixture.CreateApiKeyAsync("gated-user", role: Roles.User);
        var callsBefore = fixture.Llm.CallCount;

        var overBus = await fixture.RequestAsync(WorkerFixture.NewRequest(maxItems: 20), c => c.UseApiKey(key));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/videos/gated/vocabulary")
        {
            Content = JsonContent.Create(new { transcript = "Too many items for the plan.", sourceLanguage = "en", targetLanguage = "ko", maxItems = 20 }),
        };
        request.Headers.Add(VocabHeaders.ApiKey, key);
        using var overHttp = await bridge.Client.SendAsync(request);

        Assert.True(overBus.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.Forbidden, rejected!.Message.Reason);
        Assert.Equal(HttpStatusCode.Forbidden, overHttp.StatusCode);
        var body = await overHttp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("The plan does not allow this request.", body.GetProperty("detail").GetString());
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
    }

    [Fact]
    public async Task Usage_IsSettledToTheActualTokens_AndShownByGetUsage()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration());
        await bridge.WaitUntilReadyAsync();
        var (_, key) = await fixture.CreateApiKeyAsync("settle-user", role: Roles.User);

        Assert.True((await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key))).Is(out Response<VocabularyGenerated>? _));
        // The worker owes the settlement until its user's next admission or Settlement:SettleWithin (DeferredSettlementTests):
        // its own read sends it, as the flusher would.
        await fixture.Services.GetRequiredService<QuotaLedger>().GetAsync("settle-user", UsageMonth.Of(DateTimeOffset.UtcNow), default);
        using var get = new HttpRequestMessage(HttpMethod.Get, "/usage");
        get.Headers.Add(VocabHeaders.ApiKey, key);
        var usage = await (await bridge.Client.SendAsync(get)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("tiny", usage.GetProperty("plan").GetString());
        Assert.Equal(1, usage.GetProperty("requests").GetInt64());
        Assert.Equal(49, usage.GetProperty("remainingRequests").GetInt64());
        Assert.Equal(33, usage.GetProperty("tokensUsed").GetInt64());
        Assert.Equal(0, usage.GetProperty("tokensReserved").GetInt64());

        var vocabctl = new VocabCtlRunner(fixture);
        var shown = await vocabctl.RunAsync("usage", "show", "--user", "settle-user", "--json");
        var plans = await vocabctl.RunAsync("plans");
        Assert.Equal(1, shown.Json.GetProperty("requests").GetInt64());
        Assert.Equal(49, shown.Json.GetProperty("remainingRequests").GetInt64());
        Assert.Equal("tiny", shown.Json.GetProperty("plan").GetString());
        Assert.Contains(plans.Output.Split('\n'), l => l.StartsWith("tiny", StringComparison.Ordinal) && l.Contains("user", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LlmFailingForGood_IsAnsweredOnce_AndItsReservationGivenBack_AfterRetriesUnderOneAdmission()
    {
        var user = $"failing-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user, role: Roles.User);
        var callsBefore = fixture.Llm.CallCount;
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        try
        {
            var request = WorkerFixture.NewRequest();
            var response = await fixture.RequestAsync(request, c => c.UseApiKey(key));

            Assert.True(response.Is(out Response<GenerateVocabularyRejected>? rejected));
            Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
            // The first call and Llm:RetryLimit (1) retry, all under the one admission the ledger shows.
            Assert.True(fixture.Llm.CallCount >= callsBefore + 2);
            var ledger = fixture.Services.GetRequiredService<QuotaLedger>();
            var usage = await ledger.GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
            Assert.Equal(1, usage.Requests);
            Assert.Equal(0, usage.ReservedTokens);
            Assert.Empty(usage.Open);
            // The failure record keeps the counting, so a resend reserves again without being counted again.
            var record = await fixture.Database.GetCollection<MongoDB.Bson.BsonDocument>(Vocab.Vocabularies.VocabularyStore.CollectionName)
                .Find(new MongoDB.Bson.BsonDocument("_id", request.RequestId.ToString("D"))).SingleAsync();
            Assert.Equal(UsageMonth.Of(DateTimeOffset.UtcNow), record["failedIn"].AsString);
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    [Fact]
    public async Task Quota_ResetsAtMidnightUtcOnTheFirst_AndCountsARequestOnce()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 23, 59, 59, TimeSpan.Zero));
        var ledger = new QuotaLedger(fixture.Services.GetRequiredService<VocabDatabase>(), clock);
        var plan = new Plan("one-a-month", new PlanOptions { MonthlyRequests = 1 });
        var user = $"month-{Guid.NewGuid():N}";
        var first = Guid.NewGuid();

        var admitted = await ledger.AdmitAsync(first, user, plan, 100, default);
        var again = await ledger.AdmitAsync(first, user, plan, 100, default);
        var refused = await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 100, default);
        clock.Advance(TimeSpan.FromSeconds(1));
        var nextMonth = await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 100, default);

        Assert.True(admitted.Admitted);
        Assert.True(again.Admitted);
        Assert.False(refused.Admitted);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), refused.ResetsAt);
        Assert.True(nextMonth.Admitted);
        Assert.Equal(1, (await ledger.GetAsync(user, "2026-11", default)).Requests);
        Assert.Equal(1, (await ledger.GetAsync(user, "2026-12", default)).Requests);
    }

    [Fact]
    public async Task UsageDocument_StaysBounded_AndEveryRequestCountsOnce_ThroughRedeliveriesSettlementsAndResends()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        var ledger = new QuotaLedger(fixture.Services.GetRequiredService<VocabDatabase>(), clock);
        var plan = new Plan("counted", new PlanOptions { MonthlyRequests = 100_000 });
        var user = $"busy-{Guid.NewGuid():N}";
        var requests = Enumerable.Range(0, 3 * QuotaLedger.RecentSlots).Select(_ => Guid.NewGuid()).ToList();

        // Each admitted twice at once (a redelivery racing a retry): counted once, one reservation.
        var reservations = new List<QuotaReservation>();
        foreach (var chunk in requests.Chunk(64))
        {
            var decisions = await Task.WhenAll(chunk.SelectMany(id => new[] { ledger.AdmitAsync(id, user, plan, 10, default), ledger.AdmitAsync(id, user, plan, 10, default) }));
            Assert.All(decisions, d => Assert.True(d.Admitted));
            reservations.AddRange(decisions.Where((_, i) => i % 2 == 0).Select(d => d.Reservation!));
        }
        var inFlight = await ledger.GetAsync(user, "2026-11", default);
        Assert.Equal(requests.Count, inFlight.Requests);
        Assert.Equal(requests.Count * 10L, inFlight.ReservedTokens);
        Assert.Equal(requests.Count, inFlight.Open.Count);

        // Half settled, half given back; then every one comes back long after, as a resend
        // does, its claim saying whether it was counted: the given-back ones reserve again, none is counted again.
        var half = reservations.Count / 2;
        await Task.WhenAll(reservations.Take(half).Select(r => ledger.SettleAsync(r, 7, default)));
        await Task.WhenAll(reservations.Skip(half).Select(r => ledger.ReleaseAsync(r, default, spentTokens: 1)));
        var finished = await ledger.GetAsync(user, "2026-11", default);
        Assert.Empty(finished.Open);
        Assert.Equal(0, finished.ReservedTokens);
        Assert.Equal(half * 7L + (requests.Count - half), finished.UsedTokens);
        Assert.InRange(finished.Recent.Count, 1, QuotaLedger.RecentSlots);

        foreach (var chunk in requests.Skip(half).Chunk(64))
            Assert.All(await Task.WhenAll(chunk.Select(id => ledger.AdmitAsync(id, user, plan, 10, default, countedInMonth: "2026-11"))), d => Assert.True(d.Admitted));
        var resent = await ledger.GetAsync(user, "2026-11", default);
        Assert.Equal(requests.Count, resent.Requests);
        Assert.Equal((requests.Count - half) * 10L, resent.ReservedTokens);
    }

    [Fact]
    public async Task CrashDuringTheCall_OrBetweenSettlingAndStoring_TheRedeliveryIsNotCountedAgain()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 12, 0, 0, TimeSpan.Zero));
        var ledger = new QuotaLedger(fixture.Services.GetRequiredService<VocabDatabase>(), clock);
        var plan = new Plan("three-a-month", new PlanOptions { MonthlyRequests = 3 });
        var user = $"crash-{Guid.NewGuid():N}";
        var duringCall = Guid.NewGuid();
        var afterSettling = Guid.NewGuid();

        // Died during the LLM call: the redelivery finds its reservation.
        var first = await ledger.AdmitAsync(duringCall, user, plan, 10, default);
        clock.Advance(TimeSpan.FromMinutes(5));
        var redelivered = await ledger.AdmitAsync(duringCall, user, plan, 10, default);
        // Died after settling, before storing the answer: the redelivery finds the request in its recent slot and
        // reserves again for the call it must make again.
        var settledOnce = await ledger.AdmitAsync(afterSettling, user, plan, 10, default);
        await ledger.SettleAsync(settledOnce.Reservation!, 8, default);
        var afterCrash = await ledger.AdmitAsync(afterSettling, user, plan, 10, default);
        var third = await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 10, default);
        var fourth = await ledger.AdmitAsync(Guid.NewGuid(), user, plan, 10, default);

        Assert.True(first.Admitted);
        Assert.True(redelivered.Admitted);
        Assert.Equal(first.Reservation, redelivered.Reservation);
        Assert.True(afterCrash.Admitted);
        Assert.True(third.Admitted);
        Assert.False(fourth.Admitted);
        var usage = await ledger.GetAsync(user, "2026-11", default);
        Assert.Equal(3, usage.Requests);
        Assert.Equal(8, usage.UsedTokens);
        Assert.Equal(30, usage.ReservedTokens);
    }

    private async Task<List<string>> ErrorQueueUsersAsync()
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var users = new List<string>();
        try
        {
            while (await channel.BasicGetAsync(WorkerFixture.ErrorQueueName, autoAck: true) is { } message)
                users.Add(DeadLetterReader.ToDeadLetter(message).Header(VocabHeaders.UserId) ?? "");
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            // No error queue yet: nothing was dead-lettered.
        }
        return users;
    }
}
