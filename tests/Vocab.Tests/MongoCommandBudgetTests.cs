using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Driver;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Storage;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Xunit.Abstractions;

namespace Vocab.Tests;

/// <summary>
/// MongoDB round trips per message on the worker's hot path, counted from the driver's command events on the default
/// plan (rate and quota on): a change that adds one fails here. Budgets are the current figures; issue 25's targets (3
/// served, 2 reused, 1 refused) are in docs/benchmarks.md. A served message costs one lookup (its requestId and its
/// question), one admission (rate, quota, reservation and the requestId's claim; carrying the last one's settlement)
/// and one insert; a reused one its lookup.
/// </summary>
public sealed class MongoCommandBudgetTests(MongoCommandBudgetTests.DefaultPlanWorker fixture, ITestOutputHelper output)
    : IClassFixture<MongoCommandBudgetTests.DefaultPlanWorker>
{
    private readonly MongoClient _ownClient = new(Vocab.TestSupport.ServiceAddresses.Mongo);

    public const int ServedBudget = 3;
    public const int ReusedBudget = 1;
    public const int RefusedBudget = 1;

    /// <summary>The shipped plans as they are: users on <c>free</c>.</summary>
    public sealed class DefaultPlanWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Plans:RoleMap:user"] = "free",
            // Warm: the credential stays cached across the test's messages, as it does under steady traffic.
            ["Authentication:CacheDuration"] = "00:01:00",
            // Steady traffic: each served message's settlement rides on the user's next admission, as it does whenever
            // the user's next request comes within this.
            ["Settlement:SettleWithin"] = "00:01:00",
        };
    }

    [Fact]
    public async Task ServedReusedAndRefusedMessages_StayWithinTheirMongoCommandBudgets()
    {
        var user = $"budget-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        // Warm: the credential is cached and the plan's month and window exist, as for every message but a user's first.
        var warmUp = WorkerFixture.NewRequest();
        await ServeAsync(warmUp, key);
        var usage = fixture.Database.GetCollection<Vocab.Plans.UsageDocument>(Vocab.Plans.QuotaLedger.UsageCollection);
        var month = Vocab.Plans.UsageMonth.Of(DateTimeOffset.UtcNow);
        Assert.Contains(warmUp.RequestId.ToString("D"), (await usage.Find(u => u.Id == $"{user}|{month}").SingleAsync()).Open.Keys);

        var request = WorkerFixture.NewRequest();
        var served = await CountAsync(() => ServeAsync(request, key));
        // The served message's one admission also settled the warm-up: its reservation is gone, the new one stands.
        var afterServed = await usage.Find(u => u.Id == $"{user}|{month}").SingleAsync();
        Assert.Equal([request.RequestId.ToString("D")], afterServed.Open.Keys);
        Assert.Equal(1, served.GetValueOrDefault("update usage_months"));
        var reused = await CountAsync(() => ServeAsync(request, key));
        var refused = await CountAsync(async () =>
        {
            var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(ApiKeyFormat.Generate().Key));
            Assert.True(response.Is(out Response<GenerateVocabularyRejected>? _));
        });

        Report("served (warm credential, new transcript)", served);
        Report("reused (same requestId, stored answer)", reused);
        Report("refused (unknown API key)", refused);
        Assert.InRange(served.Values.Sum(), 1, ServedBudget + LastMonthReads());
        Assert.InRange(reused.Values.Sum(), 1, ReusedBudget);
        Assert.InRange(refused.Values.Sum(), 0, RefusedBudget);
    }

    /// <summary>
    /// Every command the worker sends for a served message is also timed (<c>vocab.mongo.command.duration</c>), under the
    /// same command and collection as it is counted: the figure ops read to tell a slow database from a slow LLM.
    /// </summary>
    [Fact]
    public async Task ServedMessage_EveryCommandIsTimedUnderItsCommandAndCollection()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"budget-timed-{Guid.NewGuid():N}");
        await ServeAsync(WorkerFixture.NewRequest(), key);
        var workerMeters = fixture.Worker.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var timed = new System.Collections.Concurrent.ConcurrentQueue<(string Command, double Milliseconds)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This worker's meter only: other test classes' hosts share the process.
            if (instrument.Meter.Scope == workerMeters && instrument.Name == "vocab.mongo.command.duration")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) => timed.Enqueue((MongoCommandTags.Of(tags).Key, value)));
        listener.Start();

        var served = await CountAsync(() => ServeAsync(WorkerFixture.NewRequest(), key));
        listener.Dispose();

        var timedOnCollections = timed.Where(t => t.Command.Contains(' ', StringComparison.Ordinal) && !t.Command.StartsWith("getMore", StringComparison.Ordinal))
            .GroupBy(t => t.Command).ToDictionary(g => g.Key, g => (long)g.Count());
        Report("served, timed", timedOnCollections);
        Assert.Equal(served.OrderBy(c => c.Key), timedOnCollections.OrderBy(c => c.Key));
        Assert.All(timed, t => Assert.True(t.Milliseconds > 0, $"{t.Command} timed at {t.Milliseconds} ms"));
    }

    /// <summary>
    /// Through the HTTP bridge: the bridge itself sends no MongoDB command for a served request on a warm credential (the
    /// worker alone claims, admits and stores), and the worker no more than on the bus: what the rate window has left, for
    /// the <c>RateLimit</c> header, comes back from the admission itself (a findAndModify), not from one more read.
    /// </summary>
    [Fact]
    public async Task BridgeRequest_CostsTheBridgeNoCommand_AndTheWorkerNoMoreThanTheBus()
    {
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration());
        await bridge.WaitUntilReadyAsync();
        var (_, key) = await fixture.CreateApiKeyAsync($"budget-bridge-{Guid.NewGuid():N}");
        var first = await PostAsync(bridge, key);

        var bridgeMetrics = bridge.App.Services.GetRequiredService<MongoCommandMetrics>();
        var bridgeBefore = bridgeMetrics.Totals();
        (string Limit, string Policy) second = ("", "");
        var worker = await CountAsync(async () => second = await PostAsync(bridge, key));
        var bridgeCommands = bridgeMetrics.Totals().Where(c => c.Key.Contains(' ', StringComparison.Ordinal))
            .Sum(c => c.Value - bridgeBefore.GetValueOrDefault(c.Key));

        Report("bridge request, the worker's commands", worker);
        output.WriteLine($"bridge request, the bridge's own commands: {bridgeCommands}");
        Assert.Equal(0, bridgeCommands);
        Assert.InRange(worker.Values.Sum(), 1, ServedBudget + LastMonthReads());
        Assert.Equal(1, worker.GetValueOrDefault("findAndModify usage_months"));
        Assert.True(worker.GetValueOrDefault("find usage_months") <= LastMonthReads(), "the window's count is read apart from the admission");
        // What the admission returned is the window as it counts this request: one less left than after the first, or, when
        // a new window began between the two (its reset further away), the limit less this one.
        Assert.Equal(Field(second.Limit, "t") <= Field(first.Limit, "t") ? Field(first.Limit, "r") - 1 : Field(second.Policy, "q") - 1,
            Field(second.Limit, "r"));
    }

    /// <summary>Posts a new request and returns its answer's <c>RateLimit</c> and <c>RateLimit-Policy</c> headers.</summary>
    private static async Task<(string Limit, string Policy)> PostAsync(BridgeHost bridge, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/budget-{Guid.NewGuid():N}/vocabulary")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { transcript = $"Budget {Guid.NewGuid():N}", sourceLanguage = "en", targetLanguage = "ko", maxItems = 3 }),
        };
        request.Headers.Add(VocabHeaders.ApiKey, key);
        using var response = await bridge.Client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return (Assert.Single(response.Headers.GetValues("RateLimit")), Assert.Single(response.Headers.GetValues("RateLimit-Policy")));
    }

    // One parameter of a header such as "plan";r=9;t=41 or "plan";q=10;w=60.
    private static int Field(string header, string name) =>
        int.Parse(header.Split(';').Single(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    // In the first hour of a month an admission also reads last month's document (QuotaLedger.MonthOverlap).
    private static int LastMonthReads()
    {
        var now = DateTimeOffset.UtcNow;
        return now - Vocab.Plans.UsageMonth.ResetsAt(now).AddMonths(-1) < Vocab.Plans.QuotaLedger.MonthOverlap ? 1 : 0;
    }

    private async Task ServeAsync(GenerateVocabulary request, string key)
    {
        var response = await fixture.RequestAsync(request, c => c.UseApiKey(key));
        Assert.True(response.Is(out Response<VocabularyGenerated>? _));
        // Settled and stored before the answer leaves; nothing is written after it on success (the lease runs out).
    }

    /// <summary>The worker's commands on collections (not pings) while <paramref name="action"/> runs.</summary>
    private async Task<Dictionary<string, long>> CountAsync(Func<Task> action)
    {
        var metrics = fixture.Worker.Services.GetRequiredService<MongoCommandMetrics>();
        var before = metrics.Totals();
        await action();
        var after = metrics.Totals();
        return after.Where(c => c.Key.Contains(' ', StringComparison.Ordinal) && !c.Key.StartsWith("getMore", StringComparison.Ordinal))
            .Select(c => (c.Key, Count: c.Value - before.GetValueOrDefault(c.Key)))
            .Where(c => c.Count > 0)
            .ToDictionary(c => c.Key, c => c.Count);
    }

    private void Report(string what, Dictionary<string, long> commands) =>
        output.WriteLine($"{what}: {commands.Values.Sum()} — {string.Join(", ", commands.OrderBy(c => c.Key).Select(c => $"{c.Key} ×{c.Value}"))}");
}
