using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Benchmarks.Reporting;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.Micro;

/// <summary>The distribution of single decisions on a warm cache: BenchmarkDotNet reports means, the target is a p99.</summary>
public static class CacheHitLatency
{
    private const int Warmup = 5_000;
    private const int Samples = 100_000;

    public static async Task RunAsync(BenchmarkReport report)
    {
        var tokens = new TestTokens();
        await using var host = await AuthenticationHost.StartAsync(tokens, TimeSpan.FromSeconds(1), $"vocab_bench_{Guid.NewGuid():N}");
        var cases = new (string Name, PresentedCredential Credential)[]
        {
            ("API key", PresentedCredential.FromHeaders(host.ApiKey, null)),
            ("HS256 JWT + blacklist", PresentedCredential.FromHeaders(null, $"Bearer {tokens.Hs256("bench-user", expires: DateTime.UtcNow.AddHours(2))}")),
            ("RS256 JWT + blacklist", PresentedCredential.FromHeaders(null, $"Bearer {tokens.Rs256("bench-user")}")),
        };

        var table = new StringBuilder($"| credential | p50 µs | p99 µs | p99.9 µs | samples |\n| --- | --- | --- | --- | --- |\n");
        foreach (var (name, credential) in cases)
        {
            for (var i = 0; i < Warmup; i++)
                await host.Validator.ValidateAsync(credential, CancellationToken.None);
            var samples = new double[Samples];
            for (var i = 0; i < Samples; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var result = await host.Validator.ValidateAsync(credential, CancellationToken.None);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                if (!result.Succeeded)
                    throw new InvalidOperationException($"{name} was refused: {result.FailureReason}");
            }
            var p99 = Distribution.Percentile(samples, 99);
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {Distribution.Percentile(samples, 50):0.0} | {p99:0.0} | {Distribution.Percentile(samples, 99.9):0.0} | {Samples} |");
            report.Target($"{name} decision on a cache hit, p99", p99, 20, higherIsBetter: false, " µs");
        }
        report.Section("Authentication decision on a warm cache: per-call distribution",
            table + "\nEach sample is one `CredentialValidator.ValidateAsync` call timed with `Stopwatch`, one after another on one thread; " +
                    "the 1 s cache expires during the run, so the tail includes the occasional MongoDB refresh.");
        await MongoCleanup.DropDatabaseAsync(host.Host.Services.GetRequiredService<IMongoClient>(), host.DatabaseName);
    }
}
