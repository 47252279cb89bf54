using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using Vocab.Benchmarks;
using Vocab.Benchmarks.Bridge;
using Vocab.Benchmarks.Cluster;
using Vocab.Benchmarks.EndToEnd;
using Vocab.Benchmarks.Fairness;
using Vocab.Benchmarks.Flood;
using Vocab.Benchmarks.Llm;
using Vocab.Benchmarks.Transport;
using Vocab.Benchmarks.Micro;
using Vocab.Benchmarks.Ops;
using Vocab.Benchmarks.Reporting;
using Vocab.Benchmarks.Storage;
using Vocab.TestSupport;

// bench/run.sh runs everything and writes docs/benchmarks.md. Parts: micro, latency, e2e, bridge, tls, llm, flood, mongo, ops, cluster
// (default: all), and fairness (about five minutes, run only when named). A full run of only some parts replaces just their
// sections and targets in the report. e2e-process runs only the second half of e2e: the production worker as its own process; e2e-inprocess only the first.
// Options of that half (e2e and e2e-process): --warm-up N messages before the first timed batch (5,000; 200 with --quick); --worker-batches N
// timed batches of --messages in a row per worker process, reported by the process's age (1); --worker-env NAME=VALUE
// (repeatable) adds to the worker process's environment only (e.g. DOTNET_gcServer=1, DOTNET_TieredPGO=0);
// --process-variants key,jwt,unlimited runs only those (API key on free, HS256 JWT on free, API key on unlimited);
// --settle S seconds idle after the warm-up (30; 0 with --quick); --keep-data keeps the stored results and failure records of the warm-up and earlier
// batches (by default they are emptied before each timed batch);
// --worker-dll PATH runs another build of the worker (e.g. dotnet publish src/Worker -r linux-x64 -p:PublishReadyToRun=true).
var settings = BenchSettings.FromArgs(args);
var outIndex = Array.LastIndexOf(args, "--out");
var quick = args.Contains("--quick");
// A quick run never overwrites the report: its figures are for a developer's eyes only.
var output = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : quick ? ".services/benchmarks-quick.md" : "docs/benchmarks.md";
var parts = args.Where(a => a is "micro" or "latency" or "e2e" or "e2e-process" or "e2e-inprocess" or "bridge" or "flood" or "tls" or "llm" or "cluster" or "mongo" or "ops" or "fairness").ToHashSet();
if (quick && parts.Count == 0)
    parts = ["e2e", "tls", "llm", "flood", "mongo"];
bool Runs(string part) => parts.Count == 0 || parts.Contains(part);

var report = new BenchmarkReport();
if (Runs("micro"))
    MicroBenchmarkRun.Run(report);
if (Runs("latency"))
    await CacheHitLatency.RunAsync(report);
if (Runs("e2e"))
{
    var inProcess = await PipelineThroughputRun.RunAsync(settings, report);
    // The same requests to the production worker in its own process, as scripts/run.sh and compose run it.
    await ProductionWorkerRun.RunAsync(settings, report, inProcess);
}
else if (Runs("e2e-process"))
    await ProductionWorkerRun.RunAsync(settings, report, (null, null));
else if (Runs("e2e-inprocess"))
    await PipelineThroughputRun.RunAsync(settings, report);
if (Runs("bridge"))
    await BridgeLoadRun.RunAsync(settings, report);
if (Runs("tls"))
    await TransportThroughputRun.RunAsync(settings, report);
if (Runs("llm"))
    await LlmCallsRun.RunAsync(settings, report);
if (Runs("flood"))
    await JunkCredentialFloodRun.RunAsync(settings, report);
if (Runs("mongo"))
{
    await MongoCommandsRun.RunAsync(settings, report);
    await MongoServerCostRun.RunAsync(report);
}
if (Runs("ops"))
    await OpsConsoleRun.RunAsync(OpsFailures(), OpsBatch(), report);

// --ops-failures N: how many failures the ops part stores (100,000; 10,000 with --quick).
int OpsFailures()
{
    var at = Array.IndexOf(args, "--ops-failures");
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : quick ? 10_000 : 100_000;
}
// --ops-batch N: how many failures one insertMany of the seeding carries (25,000, about 33 MB, one insert command each:
// the jongodb stand-in checks the unique _id over the whole collection per command, so 1,000 a command took it hours to 100,000).
int OpsBatch()
{
    var at = Array.IndexOf(args, "--ops-batch");
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : 25_000;
}
if (Runs("cluster"))
    await ScaleOutRun.RunAsync(settings, report);
// Only when named: a full run of it takes about five minutes (three workers, a 60 s load three times).
if (parts.Contains("fairness"))
    await FairnessRun.RunAsync(settings, report);

using var management = RabbitMqVirtualHost.CreateManagementClient();
var overview = await management.GetFromJsonAsync<System.Text.Json.JsonElement>("api/overview");
var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
var header = string.Join("\n", new[]
{
    "| setting | value |",
    "| --- | --- |",
    $"| date | {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC |",
    $"| machine | {Environment.ProcessorCount} cores, {memory.ToString("0.0", CultureInfo.InvariantCulture)} GiB, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription} |",
    $"| RabbitMQ | {overview.GetProperty("rabbitmq_version").GetString()} (Erlang {overview.GetProperty("erlang_version").GetString()}), on the same machine |",
    $"| MongoDB | `{ServiceAddresses.Mongo}` (`VOCAB_MONGO_URI`; the jongodb stand-in unless set to a real server), same machine |",
    "| queue | `generate-vocabulary`, durable, persistent messages; publisher confirms on (MassTransit default) |",
    $"| worker | prefetch {settings.PrefetchCount}, concurrent message limit {settings.ConcurrentMessageLimit}, no LLM retries (in-process hosts; the worker process runs the shipped defaults) |",
    $"| N | {settings.Messages} messages × {settings.Rounds} rounds per variant; bridge {settings.HttpRequests} requests × {settings.Rounds} rounds, {settings.HttpConcurrency} concurrent |",
    "| logs | worker console logging off during the in-process end-to-end runs; the worker process logs at Warning |",
});
if (parts.Count == 0 || quick)
    report.Write(output, header);
else
    report.Merge(output, header);
