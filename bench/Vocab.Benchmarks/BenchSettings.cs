namespace Vocab.Benchmarks;

/// <summary>The fixed parameters of a benchmark run, printed in the report.</summary>
public sealed record BenchSettings(int Messages, int Rounds, int PrefetchCount, int ConcurrentMessageLimit, int HttpRequests, int HttpConcurrency, int RoundTrips,
    int FloodCredentials, int FloodAddresses, int LlmMessages, int DistinctCallers, int ScaleOutMessages,
    int FairBurst, int FairSeconds, int FairBacklog, int FairLlmMilliseconds)
{
    public static BenchSettings FromArgs(string[] args)
    {
        int Arg(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var value) ? value : fallback;
        }
        // --quick: a developer's check in under two minutes; the full run is what docs/benchmarks.md reports.
        var quick = args.Contains("--quick");
        return new BenchSettings(Arg("--messages", quick ? 150 : 500), Arg("--rounds", quick ? 3 : 5), 32, 16, Arg("--http-requests", quick ? 100 : 400), 16,
            Arg("--round-trips", quick ? 100 : 300), Arg("--flood", quick ? 4_000 : 100_000), Arg("--flood-addresses", quick ? 100 : 1_000),
            Arg("--llm-messages", quick ? 150 : 1_000), Arg("--callers", quick ? 1_000 : 10_000),
            Arg("--scale-messages", quick ? 100 : 300),
            Arg("--fair-burst", quick ? 300 : 2_000), Arg("--fair-seconds", quick ? 15 : 60), Arg("--fair-backlog", quick ? 300 : 1_000),
            Arg("--fair-llm-ms", 200))
        {
            E2eVariants = Array.IndexOf(args, "--variants") is var v && v >= 0 && v + 1 < args.Length
                ? args[v + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [],
            FairSlots = Arg("--fair-slots", 0),
            FairReserved = Arg("--fair-reserved", 0),
            FairBurstOnly = args.Contains("--fair-burst-only"),
            WorkerWarmUp = Arg("--warm-up", quick ? 200 : 5_000),
            WorkerBatches = Math.Max(1, Arg("--worker-batches", 1)),
            WorkerSettleSeconds = Arg("--settle", quick ? 0 : 30),
            WorkerFreshData = !args.Contains("--keep-data"),
            WorkerDll = Array.IndexOf(args, "--worker-dll") is var wd && wd >= 0 && wd + 1 < args.Length ? args[wd + 1] : null,
            WorkerEnvironment = args.Select((a, i) => (a, i)).Where(x => x.a == "--worker-env" && x.i + 1 < args.Length)
                .Select(x => args[x.i + 1].Split('=', 2)).Where(kv => kv.Length == 2).Select(kv => new KeyValuePair<string, string>(kv[0], kv[1])).ToArray(),
            ProcessVariants = Array.IndexOf(args, "--process-variants") is var pv && pv >= 0 && pv + 1 < args.Length
                ? args[pv + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [],
        };
    }

    /// <summary>
    /// --warm-up N: messages the worker process serves before its first timed batch (5,000; 200 with --quick). A worker
    /// 200 messages old still re-compiles its hot methods (tiered JIT) during the timed batch, which tripled its CPU per
    /// message (docs/benchmarks.md, "The worker as its own process"). The background compiler works at its own pace, so a
    /// faster worker needs more messages to leave it behind: since 2026-12-02 one 1,500 messages old still spent a quarter
    /// of its CPU there; at 5,000 that is done, as in a long-running worker.
    /// </summary>
    public int WorkerWarmUp { get; init; } = 5_000;

    /// <summary>--worker-batches N: timed batches of --messages in a row per worker process (1), to see CPU per message by the process's age.</summary>
    public int WorkerBatches { get; init; } = 1;

    /// <summary>
    /// --settle S: seconds the worker process sits idle after the warm-up, before the first timed batch (30; 0 with --quick):
    /// lets the background tiered JIT finish what the warm-up queued, which on a loaded machine it had not after 5,000 messages
    /// (a quarter to a third of the timed batches' CPU); a long-running worker has long finished it.
    /// </summary>
    public int WorkerSettleSeconds { get; init; }

    /// <summary>
    /// True unless --keep-data: the worker's growing collections (stored results and failure records) are emptied before each
    /// timed batch, so every batch starts on an empty database as each in-process run does, whatever the warm-up stored.
    /// </summary>
    public bool WorkerFreshData { get; init; } = true;

    /// <summary>--worker-dll PATH: run this build of the worker (e.g. a ReadyToRun publish) instead of src/Worker/bin/Release/net10.0/Vocab.Worker.dll.</summary>
    public string? WorkerDll { get; init; }

    /// <summary>--worker-env NAME=VALUE (repeatable): extra environment for the worker process only, e.g. DOTNET_gcServer=1.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> WorkerEnvironment { get; init; } = [];

    /// <summary>--process-variants key,jwt,unlimited: the worker-process variants to run (API key on free, JWT on free, API key on unlimited). Empty: all.</summary>
    public IReadOnlyList<string> ProcessVariants { get; init; } = [];

    /// <summary>--fair-slots N: the fairness part's Worker:ConcurrentMessageLimit and PrefetchCount (0: the shipped defaults).</summary>
    public int FairSlots { get; init; }

    /// <summary>--fair-reserved N: the fairness part's FairShare:ReservedSlots (0: the shipped default).</summary>
    public int FairReserved { get; init; }

    /// <summary>--fair-burst-only: the fairness part runs scenarios 1 and 2 with fair share only (a quick look at one setting).</summary>
    public bool FairBurstOnly { get; init; }

    /// <summary>--variants a,b,...: the e2e variants to run (letters as in the report; (a) always runs, the ratios need it). Empty: all.</summary>
    public IReadOnlyList<string> E2eVariants { get; init; } = [];
}
