using System.Diagnostics;
using System.Globalization;
using System.Text;
using MassTransit;
using Vocab.Benchmarks.EndToEnd;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.TestSupport;
using Vocab.Messaging;

namespace Vocab.Benchmarks.Llm;

/// <summary>
/// What the worker pays the LLM and how well it hides its latency: throughput against an endpoint that answers after
/// 1 s at several concurrencies next to an instant one; calls paid for repeated questions, for concurrent identical
/// requests and for a model that overshoots maxItems.
/// </summary>
public static class LlmCallsRun
{
    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-llm");
        var messages = settings.LlmMessages;

        // The ceiling: what the broker and MongoDB allow with an LLM that answers at once.
        environment.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var ceiling = await ThroughputAsync(environment, concurrency: 16, messages);
        var table = new StringBuilder("| concurrent messages C | msg/s, LLM answers after 1 s | target ≥ 0.9 × min(C, ceiling) | verdict |\n| --- | --- | --- | --- |\n");
        foreach (var concurrency in new[] { 16, 64, 256 })
        {
            environment.Llm.Behaviour = _ => FakeLlmAnswer.Slow(TimeSpan.FromSeconds(1)) with { Content = FakeLlmAnswer.Items(3).Content };
            var throughput = await ThroughputAsync(environment, concurrency, messages);
            var target = 0.9 * Math.Min(concurrency, ceiling);
            table.AppendLine(CultureInfo.InvariantCulture, $"| {concurrency} | {throughput:0} | {target:0} | {(throughput >= target ? "met" : "missed")} |");
            report.Target($"LLM-bound throughput at C={concurrency} ≥ 0.9 × min(C, ceiling {ceiling:0})", throughput, target, higherIsBetter: true, " msg/s");
        }
        var note = FormattableString.Invariant($"\n{messages} requests per row, each with its own transcript; Worker:ConcurrentMessageLimit, PrefetchCount and Llm:MaxConcurrentCalls all equal C. ")
                   + FormattableString.Invariant($"The ceiling, {ceiling:0} msg/s, is the same run with an endpoint that answers at once (C = 16): the broker and MongoDB bound it here, ")
                   + "and with the jongodb stand-in, whose indexed lookups slow from ~1.6 ms at 1,000 documents to ~5 ms at 20,000, most of it is the stand-in's.";
        report.Section("LLM: throughput with a slow endpoint", table + note);

        environment.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        var reuseCalls = await CallsAsync(environment, Enumerable.Range(0, 1000).Select(i => $"Transcript number {i % 100} for the reuse benchmark.").ToList(), concurrency: 16);
        environment.Llm.Behaviour = _ => FakeLlmAnswer.Slow(TimeSpan.FromMilliseconds(500)) with { Content = FakeLlmAnswer.Items(3).Content };
        var sharedCalls = await CallsAsync(environment, Enumerable.Repeat($"One question asked fifty times {Guid.NewGuid():N}.", 50).ToList(), concurrency: 64);
        environment.Llm.Behaviour = _ => FakeLlmAnswer.Items(5 + 3);
        var overshootRequests = 200;
        var overshootCalls = await CallsAsync(environment, Enumerable.Range(0, overshootRequests).Select(i => $"Overshoot {i} {Guid.NewGuid():N}.").ToList(), concurrency: 16);
        report.Section("LLM: calls paid",
            "| case | requests | LLM calls | expected |\n| --- | --- | --- | --- |\n" +
            $"| 100 distinct transcripts, each asked 10 times | 1000 | {reuseCalls} | 100 |\n" +
            $"| one transcript asked by 50 requests at once | 50 | {sharedCalls} | 1 |\n" +
            $"| the model returns maxItems + 3 items | {overshootRequests} | {overshootCalls} | {overshootRequests} |\n");
        report.Target("Reuse: LLM calls for 1,000 requests over 100 transcripts", reuseCalls, 100, higherIsBetter: false, "");
        report.Target("Single flight: LLM calls for 50 identical concurrent requests", sharedCalls, 1, higherIsBetter: false, "");
        report.Target("Overshoot: LLM calls per request when the model returns maxItems + 3", overshootCalls / (double)overshootRequests, 1, higherIsBetter: false, "");
    }

    private static async Task<double> ThroughputAsync(BenchEnvironment environment, int concurrency, int messages)
    {
        var transcripts = Enumerable.Range(0, messages).Select(i => $"Throughput transcript {i} {Guid.NewGuid():N}.").ToList();
        var (elapsed, _) = await RunAsync(environment, transcripts, concurrency, reuse: false);
        Console.WriteLine($"llm C={concurrency}: {messages / elapsed.TotalSeconds:0} msg/s");
        return messages / elapsed.TotalSeconds;
    }

    private static async Task<int> CallsAsync(BenchEnvironment environment, IReadOnlyList<string> transcripts, int concurrency) =>
        (await RunAsync(environment, transcripts, concurrency, reuse: true)).Calls;

    private static async Task<(TimeSpan Elapsed, int Calls)> RunAsync(BenchEnvironment environment, IReadOnlyList<string> transcripts, int concurrency, bool reuse)
    {
        environment.UseFreshDatabase();
        var c = concurrency.ToString(CultureInfo.InvariantCulture);
        environment.Overrides["Worker:ConcurrentMessageLimit"] = c;
        environment.Overrides["Worker:PrefetchCount"] = c;
        environment.Overrides["Llm:MaxConcurrentCalls"] = c;
        environment.Overrides["Llm:ReuseResults"] = reuse ? "true" : "false";
        environment.Overrides["Llm:Timeout"] = "00:01:00";
        using var worker = await environment.StartWorkerAsync(authenticate: true);
        var apiKey = await environment.CreateApiKeyAsync(worker.Services, "bench-user");
        var results = new ResultCounter(transcripts.Count);
        var publisher = await environment.StartPublisherAsync(rabbit => results.Listen(rabbit, "bench-llm"));
        var endpoint = await publisher.GetSendEndpoint(new Uri($"queue:{QueueNames.DefaultInput}"));
        var callsBefore = environment.Llm.CallCount;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(transcripts.Select((transcript, i) => endpoint.Send(new GenerateVocabulary
        {
            RequestId = Guid.NewGuid(), VideoId = $"llm-{i}", Transcript = transcript, SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 5,
        }, context => context.UseApiKey(apiKey))));
        await results.Done.WaitAsync(TimeSpan.FromMinutes(10));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var calls = environment.Llm.CallCount - callsBefore;
        await publisher.StopAsync();
        await worker.StopAsync();
        environment.Overrides.Clear();
        return (elapsed, calls);
    }
}
