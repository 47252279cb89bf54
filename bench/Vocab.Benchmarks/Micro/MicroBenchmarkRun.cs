using System.Globalization;
using System.Text;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Vocab.Benchmarks.Reporting;

namespace Vocab.Benchmarks.Micro;

/// <summary>Runs <see cref="AuthenticationDecisionBenchmarks"/> with BenchmarkDotNet and reports means next to the baselines.</summary>
public static class MicroBenchmarkRun
{
    public static void Run(BenchmarkReport report)
    {
        var job = Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10);
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddLogger(ConsoleLogger.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "vocab-bdn"));
        var summary = BenchmarkRunner.Run<AuthenticationDecisionBenchmarks>(config);

        var means = new Dictionary<string, double>();
        var table = new StringBuilder("| benchmark | mean µs | p95 µs | allocated B/op |\n| --- | --- | --- | --- |\n");
        foreach (var benchmark in summary.Reports)
        {
            var name = benchmark.BenchmarkCase.Descriptor.WorkloadMethod.Name;
            var statistics = benchmark.ResultStatistics;
            if (statistics is null)
            {
                table.AppendLine(CultureInfo.InvariantCulture, $"| {name} | failed | | |");
                continue;
            }
            means[name] = statistics.Mean / 1000.0;
            var allocated = benchmark.GcStats.GetBytesAllocatedPerOperation(benchmark.BenchmarkCase);
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {statistics.Mean / 1000.0:0.00} | {statistics.Percentiles.P95 / 1000.0:0.00} | {allocated?.ToString(CultureInfo.InvariantCulture) ?? "-"} |");
        }
        report.Section("Authentication decision (BenchmarkDotNet, in-process, 10 iterations)",
            table + "\nWarm cache: the production default `Authentication:CacheDuration` of 1 s. Cache miss: cache off, so every " +
                    "decision queries MongoDB (API key: one find by hash; JWT: the jti blacklist and the user revocation in parallel).");

        if (means.TryGetValue("Baseline_MongoFindByHash", out var find) && find > 0)
        {
            if (means.TryGetValue("ApiKey_CacheMiss", out var keyMiss))
                report.Target("API-key decision on a cache miss ÷ one bare MongoDB find", keyMiss / find, 1.2, higherIsBetter: false, "×");
            if (means.TryGetValue("Hs256Jwt_WithBlacklist_CacheMiss", out var jwtMiss))
                report.Target("HS256 JWT + blacklist decision on a cache miss ÷ one bare MongoDB find", jwtMiss / find, 1.2, higherIsBetter: false, "×");
        }
    }
}
