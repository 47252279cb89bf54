using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Benchmarks.EndToEnd;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.Fairness;

/// <summary>
/// Fair share (issue 24) on the single local broker with three production workers and an LLM that answers after 200 ms:
/// light users' latency on an idle system, then while one user bursts, with fair share on and off (first in, first out);
/// two backlogged users on plans of weight 3 and 1; and the burst's throughput with and without fair share.
/// </summary>
public static partial class FairnessRun
{
    private const int Workers = 3;
    private const int LightUsers = 10;
    private const string LightPlan = "fair-light";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(10);
    // Light requests sent this long after the burst's last answer find the workers idle again (the burst's stores and settlements done).
    private static readonly TimeSpan AfterBurstMargin = TimeSpan.FromSeconds(2);

    // The shipped worker defaults (src/Worker): what production runs.
    private const int MaxConcurrentCalls = 16;
    private const int ShippedSlots = 512;
    private const int ShippedReserved = 4;

    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-fair");
        // 200 ms (the figure) unless --fair-llm-ms says otherwise: a slower LLM makes its slots, not MongoDB, the bottleneck.
        var llmLatency = TimeSpan.FromMilliseconds(settings.FairLlmMilliseconds);
        environment.Llm.Behaviour = _ => FakeLlmAnswer.Slow(llmLatency) with { Content = FakeLlmAnswer.Items(3).Content };
        using var parked = new ParkedCounter();
        using var commands = new CommandDurations();
        using var turnWaits = new TurnWaits();
        var receipts = new ReceiveTimes();
        var seconds = settings.FairSeconds;
        var burst = settings.FairBurst;

        // Worker:ConcurrentMessageLimit and PrefetchCount: the shipped defaults unless --fair-slots says otherwise.
        var slots = settings.FairSlots > 0 ? settings.FairSlots : ShippedSlots;
        var reserved = settings.FairReserved > 0 ? settings.FairReserved : ShippedReserved;
        var idle = await LoadAsync(environment, parked, commands, turnWaits, receipts, llmLatency, slots, reserved, fairShare: true, burst: 0, seconds);
        Console.WriteLine($"fairness idle: light p50 {idle.Light.P50:0} ms, p95 {idle.Light.P95:0} ms");
        var fair = await LoadAsync(environment, parked, commands, turnWaits, receipts, llmLatency, slots, reserved, fairShare: true, burst, seconds);
        Console.WriteLine($"fairness burst, fair share: light p95 {fair.LightDuringBurst.P95:0} ms, max {fair.Light.Max:0} ms, burst drained in {fair.BurstDrained.TotalSeconds:0.0} s, {fair.Throughput:0.0} msg/s, {fair.Parked} parked");
        Console.WriteLine($"fairness after the burst (idle again, its answers stored): light p50 {fair.LightAfterBurst.P50:0} ms, p95 {fair.LightAfterBurst.P95:0} ms ({fair.LightAfterBurst.Count})");
        Console.WriteLine($"fairness burst, fair share: light to a worker p50/p95 {fair.Split.ToWorker.P50:0}/{fair.Split.ToWorker.P95:0} ms, worker to its call {fair.Split.WorkerToCall.P50:0}/{fair.Split.WorkerToCall.P95:0} ms");
        Console.WriteLine($"fairness burst, fair share: turn wait p50/p95 light {fair.LightTurnWait.P50:0}/{fair.LightTurnWait.P95:0} ms ({fair.LightTurnWait.Count}), burst {fair.BurstTurnWait.P50:0}/{fair.BurstTurnWait.P95:0} ms ({fair.BurstTurnWait.Count})");
        Console.WriteLine("fairness burst, fair share: MongoDB by command, p50/p95 ms (count): " + string.Join("; ", fair.MongoByCommand.Select(c => $"{c.Command} {c.Latency.P50:0.0}/{c.Latency.P95:0.0} ({c.Latency.Count})")));
        Console.WriteLine("fairness burst, fair share: calls per second " + string.Join(" ", fair.CallsPerSecond.Take(30)));
        Console.WriteLine("fairness burst, fair share: parks per second " + string.Join(" ", fair.ParksPerSecond.Take(30)));
        Console.WriteLine($"fairness burst, fair share: light before the call p50/p95 {fair.Split.BeforeCall.P50:0}/{fair.Split.BeforeCall.P95:0} ms, after {fair.Split.AfterCall.P50:0}/{fair.Split.AfterCall.P95:0} ms; MongoDB writes p50/p95 {fair.MongoWrites.P50:0.0}/{fair.MongoWrites.P95:0.0} ms (idle {idle.MongoWrites.P50:0.0}/{idle.MongoWrites.P95:0.0})");
        if (settings.FairBurstOnly)
        {
            Console.WriteLine($"fairness (slots {slots}): light p95 during the burst {fair.LightDuringBurst.P95 / idle.Light.P95:0.00}× idle p95, longest {fair.Light.Max:0} ms");
            return;
        }
        var fifo = await LoadAsync(environment, parked, commands, turnWaits, receipts, llmLatency, slots, reserved, fairShare: false, burst, seconds);
        Console.WriteLine($"fairness burst, FIFO: light p95 {fifo.LightDuringBurst.P95:0} ms, max {fifo.Light.Max:0} ms, burst drained in {fifo.BurstDrained.TotalSeconds:0.0} s, {fifo.Throughput:0.0} msg/s");
        var weighted = await WeightedAsync(environment, parked, slots, reserved, settings.FairBacklog);
        Console.WriteLine($"fairness weighted: {weighted.Heavy}:{weighted.Light} calls in the window, ratio {weighted.Ratio:0.00}");

        Write(report, settings, slots, reserved, idle, fair, fifo, weighted);
    }

    private static void Write(BenchmarkReport report, BenchSettings settings, int slots, int reserved, LoadResult idle, LoadResult fair, LoadResult fifo, WeightedResult weighted)
    {
        var llmLatency = TimeSpan.FromMilliseconds(settings.FairLlmMilliseconds);
        string Ms(double value) => value.ToString("0", CultureInfo.InvariantCulture) + " ms";
        string Ms2(double value) => value.ToString("0.0", CultureInfo.InvariantCulture) + " ms";
        string Split(LoadResult load) =>
            $"to a worker {Ms(load.Split.ToWorker.P50)} / {Ms(load.Split.ToWorker.P95)}; in it until its LLM call (authentication, its turn, lookup, admission) " +
            $"{Ms(load.Split.WorkerToCall.P50)} / {Ms(load.Split.WorkerToCall.P95)}, of which waiting for its turn {Ms(load.LightTurnWait.P50)} / {Ms(load.LightTurnWait.P95)}; " +
            $"the call {Ms(llmLatency.TotalMilliseconds)}; from the call's answer to its own (settlement, the stored answer, the reply) {Ms(load.Split.AfterCall.P50)} / {Ms(load.Split.AfterCall.P95)}";
        string ByCommand(LoadResult load) => string.Join("; ", load.MongoByCommand.Where(c => c.Latency.Count >= 10)
            .Select(c => FormattableString.Invariant($"`{c.Command}` {c.Latency.P50:0.0} / {c.Latency.P95:0.0} ms ({c.Latency.Count})")));
        string X(double value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "×";
        string Verdict(bool met) => met ? "met" : "**missed**";
        var fairRatio = fair.LightDuringBurst.P95 / idle.Light.P95;
        var fifoRatio = fifo.LightDuringBurst.P95 / idle.Light.P95;
        // "None waits behind the burst": first in first out, a light request waits for the whole burst ahead of it (seconds
        // to minutes); with fair share its wait stays of the order of an idle one. The bar: 5 × the idle p95.
        var behindLimit = 5 * idle.Light.P95;
        var throughputRatio = fair.Throughput / fifo.Throughput;
        var table = new StringBuilder("| metric | target | measured | met? |\n| --- | --- | --- | --- |\n")
            .AppendLine(CultureInfo.InvariantCulture, $"| 1. light users alone (idle): p50 / p95 / longest | baseline | {Ms(idle.Light.P50)} / {Ms(idle.Light.P95)} / {Ms(idle.Light.Max)} | — |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 2. burst, fair share: light p50 / p95 while the burst is served | p95 ≤ 2 × idle p95 ({Ms(2 * idle.Light.P95)}) | {Ms(fair.LightDuringBurst.P50)} / {Ms(fair.LightDuringBurst.P95)} ({X(fairRatio)} idle p95; over all {settings.FairSeconds} s: {Ms(fair.Light.P50)} / {Ms(fair.Light.P95)}) | {Verdict(fairRatio <= 2)} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 2. after the burst was served (idle again, its answers stored): light p50 / p95 | for comparison: what the store's size alone costs | {Ms(fair.LightAfterBurst.P50)} / {Ms(fair.LightAfterBurst.P95)} ({fair.LightAfterBurst.Count} requests; {X(fair.LightAfterBurst.P95 / idle.Light.P95)} idle p95; p95 while the burst was served ÷ this p95: {X(fair.LightDuringBurst.P95 / fair.LightAfterBurst.P95)}) | — |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 2. burst, fair share: longest light wait | none behind the burst: ≤ 5 × idle p95 ({Ms(behindLimit)}) | {Ms(fair.Light.Max)} (burst drained in {fair.BurstDrained.TotalSeconds:0.0} s) | {Verdict(fair.Light.Max <= behindLimit)} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 2. where a light request's time went while the burst was served (fair share), p50 / p95 | idle: {Split(idle)} | {Split(fair)} | — |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 2. MongoDB's answer time while the burst was served (fair share), by command: p50 / p95 (commands) | idle: writes {Ms2(idle.MongoWrites.P50)} / {Ms2(idle.MongoWrites.P95)}, reads {Ms2(idle.MongoReads.P50)} / {Ms2(idle.MongoReads.P95)} | {ByCommand(fair)} | — |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 2. burst, first in first out: light p50 / p95 while the burst is served, longest | for comparison | {Ms(fifo.LightDuringBurst.P50)} / {Ms(fifo.LightDuringBurst.P95)} ({X(fifoRatio)} idle p95), longest {Ms(fifo.Light.Max)} (burst drained in {fifo.BurstDrained.TotalSeconds:0.0} s) | — |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 3. two backlogged users, weights 3 and 1: LLM calls while both are backlogged | 3:1 ± 10% (2.7–3.3) | {weighted.Heavy}:{weighted.Light} = {weighted.Ratio:0.00}:1 | {Verdict(weighted.Ratio is >= 2.7 and <= 3.3)} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| every request answered (idle / fair share / first in first out / weighted) | 0 unanswered | {idle.Unanswered} / {fair.Unanswered} / {fifo.Unanswered} / {weighted.Unanswered} unanswered within {RequestTimeout.TotalMinutes:0} min | {Verdict(idle.Unanswered + fair.Unanswered + fifo.Unanswered + weighted.Unanswered == 0)} |")
            .AppendLine(CultureInfo.InvariantCulture, $"| 4. throughput of scenario 2's load, fair share ÷ first in first out | ≥ 0.95× | {fair.Throughput:0.0} ÷ {fifo.Throughput:0.0} msg/s = {X(throughputRatio)} | {Verdict(throughputRatio >= 0.95)} |");
        var conditions =
            FormattableString.Invariant($"\nConditions: one local RabbitMQ node (a fresh virtual host), {Workers} workers, each the production composition in this process with the shipped ") +
            (slots == ShippedSlots && reserved == ShippedReserved ? "defaults" : "defaults but for --fair-slots or --fair-reserved") + FormattableString.Invariant($" (Llm:MaxConcurrentCalls {MaxConcurrentCalls}, Worker:ConcurrentMessageLimit {slots}, PrefetchCount {slots}, FairShare:ReservedSlots {reserved}), ") +
            FormattableString.Invariant($"a local OpenAI-compatible endpoint answering after {llmLatency.TotalMilliseconds:0} ms (LLM capacity {Workers * MaxConcurrentCalls / llmLatency.TotalSeconds:0} msg/s), ") +
            "MongoDB as configured (a fresh database per scenario). Plans without rate or quota limits (weight 1 for role user, 3 for role premium), so only fair share shapes the load. " +
            FormattableString.Invariant($"{LightUsers} light users (API keys, weight 1) each send 1 request a second for {settings.FairSeconds} s, staggered; in scenario 2 one user sends {settings.FairBurst} requests at once at the start. ") +
            "Latency is from send to answer on the publisher's clock (request/response, no resends). \"While the burst is served\": light requests sent before the burst's last answer. " +
            "Throughput (4): the burst and the light requests sent before the burst's last answer, divided by the time until all of them were answered. " +
            FormattableString.Invariant($"Scenario 3: two users with {settings.FairBacklog} equal-sized requests each, sent interleaved at once; calls counted in the order the LLM endpoint received them, ") +
            FormattableString.Invariant($"from call {weighted.WindowStart} to the point where the first user to finish had {weighted.WindowEndRemaining} calls left (both backlogged); all {2 * settings.FairBacklog} took {weighted.Took.TotalSeconds:0.0} s. ") +
            FormattableString.Invariant($"Parked on the delay queues (vocab.fair_share.parked, every time a message is parked): {fair.Parked} with fair share for {fair.Requests} requests, {weighted.Parked} in scenario 3. ") +
            "Run it alone: `source .services/env && dotnet run -c Release --project bench/Vocab.Benchmarks -- fairness` (add `--quick` for a scaled-down check; " +
            "`--fair-burst N`, `--fair-seconds N`, `--fair-backlog N` change the sizes, `--fair-llm-ms N` the LLM's answer time, `--fair-slots N` and `--fair-reserved N` the workers' consumer and reserved slots; `--fair-burst-only` prints scenario 2 alone).";
        string Waits(IReadOnlyList<double> perSecond) => string.Join(" ", perSecond.Take(60).Select(w => w.ToString("0", CultureInfo.InvariantCulture))) + (perSecond.Count > 60 ? " …" : "");
        string Timeline(IReadOnlyList<int> perSecond) => string.Join(" ", perSecond.Take(40)) + (perSecond.Count > 40 ? " …" : "");
        var timelines = "\n\nLLM calls received in each second from the start of scenario 2 (capacity " +
            FormattableString.Invariant($"{Workers * MaxConcurrentCalls / llmLatency.TotalSeconds:0}/s):\n\n| variant | calls per second |\n| --- | --- |\n") +
            $"| fair share | {Timeline(fair.CallsPerSecond)} |\n| first in first out | {Timeline(fifo.CallsPerSecond)} |\n" +
            "\nLongest wait of the light requests sent in each second of scenario 2, in ms:\n\n| variant | longest wait per second |\n| --- | --- |\n" +
            $"| fair share | {Waits(fair.LightLongestBySecond)} |\n| first in first out | {Waits(fifo.LightLongestBySecond)} |\n" +
            "\nReading these figures: the rows \"where a light request's time went\" and \"MongoDB's answer time\" show what a light request waits " +
            "for while the burst is served. Its wait for a turn is short: the next free turn goes to the waiting user with the lowest counter, " +
            "and a turn ends when its call answers. What remains is its own MongoDB work on the collection the burst grows: its lookup before " +
            "its call and its stored answer after it. On the jongodb stand-in a write grows with the square of the documents in its " +
            "collection, and reads and writes of one collection wait for the write running on it (see \"MongoDB: what one command costs as " +
            "a collection grows\"), so the light requests' longest wait per second (the timeline above) grows with the answers stored, not " +
            "with the backlog; the row \"after the burst was served\" shows what the stored answers alone cost once the load is gone. fair-share.md (Limits) has the split of a light request's time by stage inside the worker.\n";
        report.Section(FormattableString.Invariant($"Fairness: one user's burst and the others, plan weights (3 workers, LLM answers after {llmLatency.TotalMilliseconds:0} ms)"), table + conditions + timelines);
        report.Target("Fairness: light users' p95 during a burst ÷ idle p95", fairRatio, 2, higherIsBetter: false, "×");
        report.Target("Fairness: longest light wait during a burst ÷ idle p95", fair.Light.Max / idle.Light.P95, 5, higherIsBetter: false, "×");
        report.Target("Fairness: calls to weight 3 ÷ calls to weight 1 while both are backlogged (≥ 2.7)", weighted.Ratio, 2.7, higherIsBetter: true, "");
        report.Target("Fairness: calls to weight 3 ÷ calls to weight 1 while both are backlogged (≤ 3.3)", weighted.Ratio, 3.3, higherIsBetter: false, "");
        report.Target("Fairness: throughput with fair share ÷ first in first out", throughputRatio, 0.95, higherIsBetter: true, "×");
    }

    /// <summary>Scenarios 1 and 2: light users at 1 request a second each, with or without a burst at the start.</summary>
    private static async Task<LoadResult> LoadAsync(BenchEnvironment environment, ParkedCounter parked, CommandDurations commands, TurnWaits turnWaits, ReceiveTimes receipts,
        TimeSpan llmLatency, int slots, int reserved, bool fairShare, int burst, int seconds)
    {
        // The light users on a plan of their own, of the same weight as the burst's: their turn waits are told apart by plan.
        await using var run = await StartAsync(environment, slots, reserved, fairShare, receipts, premiumPlan: LightPlan);
        var lightKeys = new List<string>();
        for (var i = 0; i < LightUsers; i++)
            lightKeys.Add(await run.KeyAsync($"light-{i}", Roles.Premium));
        var burstKey = await run.KeyAsync("burst", Roles.User);
        await run.WarmUpAsync(lightKeys.Append(burstKey));
        var parkedBefore = parked.Count;
        var callsBefore = environment.Llm.CallCount;
        commands.Clear();
        turnWaits.Clear();

        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var burstTasks = Enumerable.Range(0, burst).Select(i => run.TimedAsync(clock, NewRequest("burst", i), burstKey)).ToList();
        var lightTasks = new List<Task<Sample>>();
        var schedule = Enumerable.Range(0, LightUsers).Select(user => Task.Run(async () =>
        {
            var mine = new List<Task<Sample>>();
            for (var second = 0; second < seconds; second++)
            {
                var at = TimeSpan.FromSeconds(second + user / (double)LightUsers);
                if (at > clock.Elapsed)
                    await Task.Delay(at - clock.Elapsed);
                mine.Add(run.TimedAsync(clock, NewRequest($"light{user}", second), lightKeys[user]));
            }
            return mine;
        })).ToList();
        foreach (var user in await Task.WhenAll(schedule))
            lightTasks.AddRange(user);
        var light = await Task.WhenAll(lightTasks);
        var bursted = await Task.WhenAll(burstTasks);
        // An unanswered request (timed out) stays in the figures with the time it waited: a lower bound, and named in the report.
        var unanswered = light.Concat(bursted).Count(s => !s.Answered);

        var drained = bursted.Length == 0 ? TimeSpan.Zero : bursted.Max(s => s.AnsweredAt);
        var lightDuringBurst = bursted.Length == 0 ? light : light.Where(s => s.SentAt < drained).ToArray();
        // Idle again, with the burst's answers stored: what the store's size alone costs a light request, without the burst's load.
        var lightAfterBurst = bursted.Length == 0 ? Array.Empty<Sample>() : light.Where(s => s.SentAt > drained + AfterBurstMargin).ToArray();
        var sameLoad = bursted.Concat(light.Where(s => s.SentAt < drained)).ToList();
        var busyUntil = sameLoad.Count == 0 ? TimeSpan.Zero : sameLoad.Max(s => s.AnsweredAt);
        return new LoadResult(
            Latency.Of(light),
            Latency.Of(lightDuringBurst),
            Latency.Of(lightAfterBurst),
            drained,
            // Only answers count as throughput: a request that timed out was not served.
            busyUntil > TimeSpan.Zero ? sameLoad.Count(s => s.Answered) / busyUntil.TotalSeconds : 0,
            parked.Count - parkedBefore,
            light.Length + bursted.Length,
            environment.Llm.CallCount - callsBefore,
            CallsPerSecond(environment.Llm.CallTimes.Skip(callsBefore), started),
            LongestBySecond(light),
            unanswered,
            LightSplit.Of(lightDuringBurst, receipts.Snapshot(), CallArrivals(environment.Llm.Calls), started, llmLatency),
            commands.Writes(),
            commands.Reads(),
            commands.ByCommand(),
            turnWaits.Of(LightPlan),
            turnWaits.Of("fair-one"),
            parked.PerSecondSince(started));
    }

    /// <summary>Scenario 3: two users on plans of weight 3 and 1, each with a backlog, sent interleaved at once.</summary>
    private static async Task<WeightedResult> WeightedAsync(BenchEnvironment environment, ParkedCounter parked, int slots, int reserved, int backlog)
    {
        await using var run = await StartAsync(environment, slots, reserved, fairShare: true, receipts: null, premiumPlan: "fair-three");
        var heavyKey = await run.KeyAsync("heavy", Roles.Premium);
        var lightKey = await run.KeyAsync("plain", Roles.User);
        await run.WarmUpAsync([heavyKey, lightKey]);
        var callsBefore = environment.Llm.CallCount;
        var parkedBefore = parked.Count;
        var clock = Stopwatch.StartNew();
        // Same-length transcripts ("w3"/"w1" tags): the same tokens per call, so the share of calls is the share of tokens.
        var samples = await Task.WhenAll(Enumerable.Range(0, backlog).SelectMany(i => new[]
        {
            run.TimedAsync(clock, NewRequest("fair-w3", i), heavyKey),
            run.TimedAsync(clock, NewRequest("fair-w1", i), lightKey),
        }));
        var unanswered = samples.Count(s => !s.Answered);

        var calls = environment.Llm.Requests.Skip(callsBefore).Select(r => r.RootElement.GetRawText())
            .Select(text => text.Contains("fair-w3 ", StringComparison.Ordinal) ? 3 : text.Contains("fair-w1 ", StringComparison.Ordinal) ? 1 : 0).ToList();
        // Both backlogged: skip the first calls (the workers filling up) and stop while the first user to finish still
        // has as many calls left as the three workers may hold of it (its tail is no longer a backlog).
        var warmUp = Workers * MaxConcurrentCalls;
        var tail = Workers * (MaxConcurrentCalls + 2);
        int heavyLeft = backlog, lightLeft = backlog, heavy = 0, light = 0, index = 0;
        foreach (var call in calls)
        {
            if (Math.Min(heavyLeft, lightLeft) <= tail)
                break;
            if (index++ >= warmUp)
            {
                heavy += call == 3 ? 1 : 0;
                light += call == 1 ? 1 : 0;
            }
            heavyLeft -= call == 3 ? 1 : 0;
            lightLeft -= call == 1 ? 1 : 0;
        }
        return new WeightedResult(heavy, light, light == 0 ? double.PositiveInfinity : heavy / (double)light, warmUp, tail, parked.Count - parkedBefore,
            samples.Max(s => s.AnsweredAt), unanswered);
    }

    // When the LLM endpoint received each request's call, by the requestId its transcript carries (NewRequest).
    private static Dictionary<string, DateTime> CallArrivals(IEnumerable<FakeLlmCall> calls)
    {
        var arrivals = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var call in calls)
        {
            foreach (System.Text.RegularExpressions.Match id in RequestIdInTranscript().Matches(call.Request.RootElement.GetRawText()))
                arrivals.TryAdd(id.Value, call.Arrived);
        }
        return arrivals;
    }

    [System.Text.RegularExpressions.GeneratedRegex("\\b[0-9a-f]{32}\\b")]
    private static partial System.Text.RegularExpressions.Regex RequestIdInTranscript();

    // LLM calls received in each whole second from the start of the load.
    private static List<int> CallsPerSecond(IEnumerable<DateTime> callTimes, DateTime started)
    {
        var perSecond = new List<int>();
        foreach (var second in callTimes.Select(t => (int)Math.Floor((t - started).TotalSeconds)).Where(s => s >= 0))
        {
            while (perSecond.Count <= second)
                perSecond.Add(0);
            perSecond[second]++;
        }
        return perSecond;
    }

    // The longest wait of the light requests sent in each whole second.
    private static List<double> LongestBySecond(IEnumerable<Sample> samples) =>
        samples.GroupBy(s => (int)Math.Floor(s.SentAt.TotalSeconds)).OrderBy(g => g.Key).Select(g => g.Max(s => s.Milliseconds)).ToList();

    // The transcript carries the requestId, so the LLM endpoint's record tells when each request's call arrived.
    private static GenerateVocabulary NewRequest(string tag, int i)
    {
        var requestId = Guid.NewGuid();
        return new()
        {
            RequestId = requestId, VideoId = $"{tag}-{i}", Transcript = $"{tag} {i:D5} {requestId:N} transcript for the fairness benchmark.",
            SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 5,
        };
    }

    private static async Task<WorkerRun> StartAsync(BenchEnvironment environment, int slots, int reserved, bool fairShare, ReceiveTimes? receipts, string premiumPlan)
    {
        environment.UseFreshDatabase();
        environment.Overrides.Clear();
        environment.Overrides["FairShare:Enabled"] = fairShare ? "true" : "false";
        environment.Overrides["Llm:MaxConcurrentCalls"] = MaxConcurrentCalls.ToString(CultureInfo.InvariantCulture);
        environment.Overrides["Worker:ConcurrentMessageLimit"] = slots.ToString(CultureInfo.InvariantCulture);
        environment.Overrides["Worker:PrefetchCount"] = slots.ToString(CultureInfo.InvariantCulture);
        environment.Overrides["FairShare:ReservedSlots"] = reserved.ToString(CultureInfo.InvariantCulture);
        environment.Overrides["Llm:Timeout"] = "00:01:00";
        // Plans without rate or quota limits: only fair share shapes the load.
        environment.Overrides["Plans:fair-one:Weight"] = "1";
        environment.Overrides["Plans:fair-three:Weight"] = "3";
        environment.Overrides[$"Plans:{LightPlan}:Weight"] = "1";
        environment.Overrides["Plans:RoleMap:user"] = "fair-one";
        environment.Overrides["Plans:RoleMap:premium"] = premiumPlan;
        var hosts = new List<IHost>();
        for (var i = 0; i < Workers; i++)
        {
            var host = await environment.StartWorkerAsync(authenticate: true);
            if (receipts is not null)
                host.Services.GetRequiredService<IBus>().ConnectReceiveObserver(receipts);
            hosts.Add(host);
        }
        var publisher = await environment.StartPublisherAsync();
        var client = publisher.CreateRequestClient<GenerateVocabulary>(new Uri($"exchange:{QueueNames.DefaultInput}"),
            MassTransit.RequestTimeout.After(m: (int)RequestTimeout.TotalMinutes));
        return new WorkerRun(hosts, publisher, client);
    }

    /// <summary>Three workers on the environment's virtual host and database, and a publisher in front of them.</summary>
    private sealed record WorkerRun(List<IHost> Hosts, IBusControl Publisher, IRequestClient<GenerateVocabulary> Client) : IAsyncDisposable
    {
        public async Task<string> KeyAsync(string user, string role) =>
            (await Hosts[0].Services.GetRequiredService<ApiKeyStore>().CreateAsync($"{user}-{Guid.NewGuid():N}", role, DateTime.UtcNow)).Key;

        /// <summary>One answered request per key first: code paths compiled, credentials cached, connections open.</summary>
        public async Task WarmUpAsync(IEnumerable<string> apiKeys)
        {
            var clock = Stopwatch.StartNew();
            var samples = await Task.WhenAll(apiKeys.Select((key, i) => TimedAsync(clock, NewRequest("warm-up", i), key)));
            if (samples.Any(s => !s.Answered))
                throw new InvalidOperationException("a warm-up request was not answered with a list");
        }

        public async Task<Sample> TimedAsync(Stopwatch clock, GenerateVocabulary request, string apiKey)
        {
            var sent = clock.Elapsed;
            try
            {
                var response = await Client.GetResponse<VocabularyGenerated, GenerateVocabularyRejected>(request, x => x.UseExecute(c => c.UseApiKey(apiKey)));
                return new Sample(request.RequestId, sent, clock.Elapsed, response.Is(out Response<VocabularyGenerated>? _));
            }
            catch (RequestTimeoutException)
            {
                return new Sample(request.RequestId, sent, clock.Elapsed, Answered: false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Publisher.StopAsync();
            foreach (var host in Hosts)
            {
                await host.StopAsync();
                host.Dispose();
            }
        }
    }

    private sealed record Sample(Guid RequestId, TimeSpan SentAt, TimeSpan AnsweredAt, bool Answered)
    {
        public double Milliseconds => (AnsweredAt - SentAt).TotalMilliseconds;
    }

    private sealed record Latency(double P50, double P95, double Max, int Count)
    {
        public static Latency Of(IReadOnlyCollection<Sample> samples) => Of(samples.Select(s => s.Milliseconds));

        public static Latency Of(IEnumerable<double> milliseconds)
        {
            var ms = milliseconds.ToList();
            return new Latency(Distribution.Percentile(ms, 50), Distribution.Percentile(ms, 95), ms.Count == 0 ? double.NaN : ms.Max(), ms.Count);
        }
    }

    private sealed record LoadResult(Latency Light, Latency LightDuringBurst, Latency LightAfterBurst, TimeSpan BurstDrained, double Throughput, long Parked, int Requests, int LlmCalls, IReadOnlyList<int> CallsPerSecond,
        IReadOnlyList<double> LightLongestBySecond, int Unanswered, LightSplit Split, Latency MongoWrites, Latency MongoReads, IReadOnlyList<(string Command, Latency Latency)> MongoByCommand, Latency LightTurnWait, Latency BurstTurnWait, IReadOnlyList<int> ParksPerSecond);

    /// <summary>
    /// Where answered light requests' time went: from send to their LLM call's arrival (the queue, authentication, the wait
    /// for a turn, the lookup and admission) and from the call's answer to theirs (settlement, storing, the reply).
    /// </summary>
    private sealed record LightSplit(Latency ToWorker, Latency WorkerToCall, Latency BeforeCall, Latency AfterCall)
    {
        public static LightSplit Of(IEnumerable<Sample> samples, IReadOnlyDictionary<string, DateTime> receipts,
            IReadOnlyDictionary<string, DateTime> callArrivals, DateTime started, TimeSpan llmLatency)
        {
            var called = samples.Where(s => s.Answered)
                .Select(s => (Sample: s, CalledAt: callArrivals.TryGetValue(s.RequestId.ToString("N"), out var at) ? at - started : (TimeSpan?)null,
                    ReceivedAt: receipts.TryGetValue(s.RequestId.ToString("N"), out var got) ? got - started : (TimeSpan?)null))
                .Where(c => c.CalledAt is not null).ToList();
            var received = called.Where(c => c.ReceivedAt is not null).ToList();
            return new LightSplit(
                Latency.Of(received.Select(c => (c.ReceivedAt!.Value - c.Sample.SentAt).TotalMilliseconds)),
                Latency.Of(received.Select(c => (c.CalledAt!.Value - c.ReceivedAt!.Value).TotalMilliseconds)),
                Latency.Of(called.Select(c => (c.CalledAt!.Value - c.Sample.SentAt).TotalMilliseconds)),
                Latency.Of(called.Select(c => (c.Sample.AnsweredAt - c.CalledAt!.Value - llmLatency).TotalMilliseconds)));
        }
    }

    private sealed record WeightedResult(int Heavy, int Light, double Ratio, int WindowStart, int WindowEndRemaining, long Parked, TimeSpan Took, int Unanswered);

    /// <summary>
    /// <c>vocab.mongo.command.duration</c> from the workers in this process: how long MongoDB took to answer each write
    /// (insert, update, findAndModify, delete) and each read (find, aggregate) while a scenario ran.
    /// </summary>
    private sealed class CommandDurations : IDisposable
    {
        private static readonly HashSet<string> WriteCommands = new(StringComparer.Ordinal) { "insert", "update", "findAndModify", "delete" };
        private static readonly HashSet<string> ReadCommands = new(StringComparer.Ordinal) { "find", "aggregate" };
        private readonly MeterListener _listener = new();
        private System.Collections.Concurrent.ConcurrentQueue<(bool Write, string Command, double Milliseconds)> _samples = new();

        public CommandDurations()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Vocab.Storage" && instrument.Name == "vocab.mongo.command.duration")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                var (command, key) = MongoCommandTags.Of(tags);
                if (command is not null && (WriteCommands.Contains(command) || ReadCommands.Contains(command)))
                    _samples.Enqueue((WriteCommands.Contains(command), key, value));
            });
            _listener.Start();
        }

        public void Clear() => _samples = new();

        public Latency Writes() => Latency.Of(_samples.Where(s => s.Write).Select(s => s.Milliseconds));

        /// <summary>Each command and collection's answer times, slowest p95 first.</summary>
        public IReadOnlyList<(string Command, Latency Latency)> ByCommand() =>
            _samples.GroupBy(s => s.Command).Select(g => (g.Key, Latency.Of(g.Select(s => s.Milliseconds)))).OrderByDescending(c => c.Item2.P95).ToList();

        public Latency Reads() => Latency.Of(_samples.Where(s => !s.Write).Select(s => s.Milliseconds));

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>
    /// When a worker first began to receive each request (a receive observer on every worker: after the broker delivered it
    /// and a consumer slot took it), by the requestId its transcript carries.
    /// </summary>
    private sealed class ReceiveTimes : IReceiveObserver
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTime> _first = new(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, DateTime> Snapshot() => new Dictionary<string, DateTime>(_first, StringComparer.Ordinal);

        public Task PreReceive(ReceiveContext context)
        {
            var now = DateTime.UtcNow;
            var body = Encoding.UTF8.GetString(context.Body.GetBytes());
            foreach (System.Text.RegularExpressions.Match id in RequestIdInTranscript().Matches(body))
                _first.TryAdd(id.Value, now);
            return Task.CompletedTask;
        }

        public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

        public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType) where T : class => Task.CompletedTask;

        public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception) where T : class => Task.CompletedTask;

        public Task ReceiveFault(ReceiveContext context, Exception exception) => Task.CompletedTask;
    }

    /// <summary><c>vocab.fair_share.turn_wait</c> from the workers in this process, by plan.</summary>
    private sealed class TurnWaits : IDisposable
    {
        private readonly MeterListener _listener = new();
        private System.Collections.Concurrent.ConcurrentQueue<(string Plan, double Milliseconds)> _samples = new();

        public TurnWaits()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Vocab.FairShare" && instrument.Name == "vocab.fair_share.turn_wait")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "plan" && tag.Value is string plan)
                        _samples.Enqueue((plan, value));
                }
            });
            _listener.Start();
        }

        public void Clear() => _samples = new();

        public Latency Of(string plan) => Latency.Of(_samples.Where(s => s.Plan == plan).Select(s => s.Milliseconds));

        public void Dispose() => _listener.Dispose();
    }
}
