using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.Failures;
using Vocab.Storage;
using Vocab.Ops.Extensions;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.Ops;

/// <summary>
/// The ops console over 100,000 stored failures: how long the overview and filtered list pages take to answer over HTTPS
/// (the production composition, signed in with an admin key), the store seeded directly in a database of its own.
/// </summary>
public static partial class OpsConsoleRun
{
    private const double LimitMs = 300;
    private const int Samples = 30;
    private static readonly string[] Reasons =
        [RejectionReasons.LlmUnavailable, RejectionReasons.LlmInvalidOutput, RejectionReasons.InternalError, RejectionReasons.RateLimited,
         RejectionReasons.QuotaExceeded, RejectionReasons.InvalidRequest, RejectionReasons.MissingCredentials, RejectionReasons.InvalidCredentials];

    public static async Task RunAsync(int failures, int batch, BenchmarkReport report)
    {
        var database = $"vocab_bench_ops_{Guid.NewGuid():N}";
        // Named, so a run cut short can be cleaned up by hand (the MongoDB stand-in cannot list its databases).
        Console.WriteLine($"ops: seeding {failures:N0} failures into database {database}");
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("bench-ops");
        await vhost.ImportDefinitionsAsync();
        // Indexed, seeded and counted before the console starts, so its start-up does not race the seeding.
        using var mongo = new MongoClient(ServiceAddresses.Mongo);
        var vocab = new VocabDatabase(mongo, Microsoft.Extensions.Options.Options.Create(new MongoOptions { Database = database }));
        var seedStore = new FailureStore(vocab, TimeProvider.System);
        var seeding = Stopwatch.StartNew();
        await new FailureIndexes().CreateIndexesAsync(vocab, CancellationToken.None);
        var (user, key, video, curve) = await SeedAsync(seedStore, failures, batch);
        Console.WriteLine($"ops: seeded in {seeding.Elapsed.TotalSeconds:0} s; counting");
        // The overview's counters for what was seeded, as the ingestor would have kept them one by one.
        await seedStore.Counters.RebuildAsync(CancellationToken.None);
        seeding.Stop();
        Console.WriteLine($"ops: counters rebuilt at {seeding.Elapsed.TotalSeconds:0} s");
        var app = await StartAsync(Configuration(vhost, database));
        try
        {
            var (credential, _) = await app.Services.GetRequiredService<ApiKeyStore>().CreateAsync("bench-operator", Roles.Admin, DateTime.UtcNow);

            var cookies = new CookieContainer();
            using var client = new HttpClient(new SocketsHttpHandler
            {
                CookieContainer = cookies, AllowAutoRedirect = false,
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            }) { BaseAddress = new Uri(app.Urls.First()) };
            await SignInAsync(client, credential);

            var pages = new (string Name, string Path)[]
            {
                ("overview (groups, users affected, 24 h chart)", "/"),
                ("list: reason", $"/Failures?reason={RejectionReasons.LlmUnavailable}"),
                ("list: user and reason", $"/Failures?user={user}&reason={RejectionReasons.LlmUnavailable}"),
                ("list: key id, last 24 h", $"/Failures?key={key}&from={DateTime.UtcNow.AddDays(-1):yyyy-MM-ddTHH:mm}"),
                ("list: video", $"/Failures?video={video}"),
                ("list: page 2 of a reason", ""),
            };
            var rows = new StringBuilder("| page | median ms | p95 ms | max ms |\n| --- | --- | --- | --- |\n");
            var listP95 = 0.0;
            var overviewP95 = 0.0;
            foreach (var (name, configured) in pages)
            {
                Console.WriteLine($"ops: measuring {name} ({DateTime.UtcNow:HH:mm:ss})");
                var path = configured.Length > 0 ? configured : await NextPageAsync(client, pages[1].Path);
                var samples = await MeasureAsync(client, path);
                var p95 = Distribution.Percentile(samples, 95);
                rows.Append(CultureInfo.InvariantCulture,
                    $"| {name} | {Distribution.Percentile(samples, 50):0.0} | {p95:0.0} | {samples.Max():0.0} |\n");
                if (path == "/")
                    overviewP95 = p95;
                else
                    listP95 = Math.Max(listP95, p95);
            }

            report.Section($"Ops console over {failures:N0} stored failures",
                rows + $"\n{failures:N0} failures seeded straight into an indexed `failures`, then counted by `FailureCounters.RebuildAsync` ({seeding.Elapsed.TotalSeconds:0} s in all), " +
                $"spread over {Reasons.Length} reasons (internal errors over 4 exception types), 2,000 users, 7 days (a third in the last 24 h). " +
                $"Each page {Samples} times over HTTPS after 3 warm-up requests, signed in with an admin key, one at a time; the time is the whole " +
                "answer (query, rendering, TLS on loopback). The overview reads the counters the ingestor keeps with each insert and status change " +
                "(`failure_counts`: one document per open group, 24 per hour), so it does not grow with the store; " +
                "a list page is one index range of 51 documents, page 2 starting after the last row shown. MongoDB is `VOCAB_MONGO_URI`: the jongodb stand-in's figures say more " +
                "about the stand-in than about these queries (see the header).\n\n" + CurveTable(curve, batch));
            report.Target($"Ops overview over {failures:N0} failures (p95)", overviewP95, LimitMs, higherIsBetter: false, " ms");
            report.Target($"Ops filtered list over {failures:N0} failures (slowest filter's p95)", listP95, LimitMs, higherIsBetter: false, " ms");
        }
        finally
        {
            await app.StopAsync();
            await MongoCleanup.DropDatabaseAsync(app.Services.GetRequiredService<IMongoClient>(), database);
            await app.DisposeAsync();
        }
    }

    private static Dictionary<string, string?> Configuration(RabbitMqVirtualHost vhost, string database)
    {
        var management = ServiceAddresses.RabbitMqManagement;
        var credentials = management.UserInfo.Split(':');
        var configuration = new Dictionary<string, string?>(new TestTokens().Configuration())
        {
            ["ConnectionStrings:RabbitMq"] = vhost.AmqpUri.ToString(),
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = database,
            ["Security:RequireTls"] = "false",
            ["Ops:ManagementUri"] = new UriBuilder(management) { UserName = "", Password = "" }.Uri.ToString(),
            ["Ops:ManagementUser"] = credentials[0],
            ["Ops:ManagementPassword"] = credentials[1],
            ["Ops:VirtualHost"] = vhost.Name,
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Kestrel:Certificates:Default:Path"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.pem"),
            ["Kestrel:Certificates:Default:KeyPath"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.key"),
        };
        return configuration;
    }

    private static async Task<WebApplication> StartAsync(IDictionary<string, string?> configuration)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Benchmark",
            ApplicationName = typeof(OpsExtensions).Assembly.GetName().Name,
            ContentRootPath = RepositoryFiles.PathOf("src/Ops"),
            WebRootPath = RepositoryFiles.PathOf("src/Ops/wwwroot"),
        });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("https://127.0.0.1:0");
        builder.AddVocabOps();
        var app = builder.Build();
        app.UseVocabOps();
        await app.StartAsync();
        // The console creates its indexes in the background at start; the pages are measured once that is done (the
        // jongodb stand-in holds the collection for minutes while it does, checking the unique _id over every document).
        await app.Services.GetServices<IHostedService>().OfType<MongoIndexInitializer>().Single().ExecuteTask!;
        return app;
    }

    // Returns a user, a key id and a video that each have failures, to filter by, and the store's cost at checkpoints.
    private static async Task<(string User, string KeyId, string Video, List<ScalePoint> Curve)> SeedAsync(FailureStore store, int count, int batch)
    {
        var random = new Random(42);
        var now = DateTime.UtcNow;
        var exceptions = new[] { "System.TimeoutException", "System.InvalidOperationException", "MongoDB.Driver.MongoWriteException", "System.IO.IOException" };
        var curve = new List<ScalePoint>();
        var checkpoints = new Queue<int>(Checkpoints.Where(c => c < count).Append(count));
        var seeding = Stopwatch.StartNew();
        for (var start = 0; start < count; start += batch)
        {
            var documents = new List<FailureDocument>(batch);
            for (var i = start; i < Math.Min(count, start + batch); i++)
            {
                var reason = Reasons[random.Next(Reasons.Length)];
                var fault = reason == RejectionReasons.InternalError ? exceptions[random.Next(exceptions.Length)] : "Vocab.Worker.LlmUnavailableException";
                // A third within the last 24 hours, the rest over the week before.
                var failedAt = now - (i % 3 == 0 ? TimeSpan.FromMinutes(random.Next(24 * 60)) : TimeSpan.FromMinutes(random.Next(24 * 60, 7 * 24 * 60)));
                var user = $"user-{random.Next(2000)}";
                var body = $"{{\"requestId\":\"{Guid.NewGuid()}\",\"videoId\":\"video-{i % 20000}\",\"transcript\":\"{new string('x', 200)}\",\"maxItems\":5}}";
                documents.Add(new FailureDocument
                {
                    Id = Guid.CreateVersion7(failedAt).ToString("D"),
                    DeadLetterId = null,
                    Queue = RejectionReasons.CredentialReasons.Contains(reason) ? FailureQueues.Refused : FailureQueues.Error,
                    Reason = reason,
                    Group = reason == RejectionReasons.InternalError ? $"{reason}: {fault}" : reason,
                    UserId = user, Role = Roles.User, KeyId = $"key{user[5..]}".PadRight(12, '0')[..12], VideoId = $"video-{i % 20000}",
                    MessageId = Guid.NewGuid().ToString(), FailedAt = failedAt, FirstFailedAt = failedAt, IngestedAt = failedAt,
                    RetainUntil = now.AddDays(30), ExpireAt = now.AddDays(31), FaultType = fault, FaultMessage = "HTTP 500 from the LLM endpoint", Verified = true,
                    // As an ingested failure stands once its counters follow it (RebuildAsync writes the counters).
                    CountedRev = 1, CountedStatus = FailureStatus.Open,
                    Headers = new Dictionary<string, string> { [VocabHeaders.Reason] = reason, [VocabHeaders.UserId] = user, ["MT-Fault-ExceptionType"] = fault },
                    Body = body,
                    Copy = new StoredCopy { ContentType = "application/json", Body = Encoding.UTF8.GetBytes(body) },
                });
            }
            foreach (var d in documents)
                d.DeadLetterId = d.Id;
            var inserting = Stopwatch.StartNew();
            await store.Collection.InsertManyAsync(documents, new InsertManyOptions { IsOrdered = false });
            inserting.Stop();
            var stored = start + documents.Count;
            if (stored / 10_000 != start / 10_000 || stored == count)
                Console.WriteLine($"ops: {stored:N0} seeded ({DateTime.UtcNow:HH:mm:ss}, {seeding.Elapsed.TotalSeconds:0} s, last batch of {documents.Count:N0} in {inserting.Elapsed.TotalMilliseconds:0} ms)");
            if (checkpoints.TryPeek(out var checkpoint) && stored >= checkpoint)
            {
                while (checkpoints.TryPeek(out checkpoint) && stored >= checkpoint)
                    checkpoints.Dequeue();
                curve.Add(await MeasureStoreAsync(store, stored, seeding.Elapsed, inserting.Elapsed, documents.Count));
            }
        }
        var sample = await store.Collection.Find(Builders<FailureDocument>.Filter.Eq(f => f.Reason, RejectionReasons.LlmUnavailable)).Limit(1).FirstAsync();
        return (sample.UserId!, sample.KeyId!, sample.VideoId!, curve);
    }

    // The bare queries of two list pages through the driver, without the console: a reason (an eighth of the store
    // matches) and a user (about one in 2,000 matches). On an indexed store both read 51 index entries whatever the store
    // holds; a store that scans grows with every document, the narrow filter as much as the wide one.
    private static async Task<ScalePoint> MeasureStoreAsync(FailureStore store, int stored, TimeSpan seeding, TimeSpan batchTime, int batchSize)
    {
        async Task<double> Median(FailureFilter filter)
        {
            var samples = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                var watch = Stopwatch.StartNew();
                _ = await store.ListAsync(filter, 50, CancellationToken.None);
                samples.Add(watch.Elapsed.TotalMilliseconds);
            }
            return Distribution.Percentile(samples, 50);
        }
        var point = new ScalePoint(stored, seeding.TotalSeconds, batchTime.TotalSeconds,
            await Median(new FailureFilter(Reason: RejectionReasons.LlmUnavailable)), await Median(new FailureFilter(UserId: "user-7")));
        Console.WriteLine($"ops: at {stored:N0}: seeded in {point.SeededSeconds:0} s, last insert of {batchSize:N0} in {point.LastInsertSeconds:0.0} s, " +
                          $"first page by reason {point.ReasonPageMs:0.0} ms, by user {point.UserPageMs:0.0} ms");
        return point;
    }

    private static readonly int[] Checkpoints = [10_000, 25_000, 50_000, 100_000];

    private static string CurveTable(IReadOnlyList<ScalePoint> curve, int batch)
    {
        var table = new StringBuilder(
            "How the store's cost grew while it was seeded (insert commands of " + batch.ToString("N0", CultureInfo.InvariantCulture) + " failures, " +
            "unordered; each query the median of 5 through the driver, without the console):\n\n" +
            "| failures stored | seeding so far s | last insert command, s | first page by reason, ms | first page by user, ms |\n" +
            "| --- | --- | --- | --- | --- |\n");
        foreach (var p in curve)
            table.Append(CultureInfo.InvariantCulture,
                $"| {p.Stored:N0} | {p.SeededSeconds:0} | {p.LastInsertSeconds:0.0} | {p.ReasonPageMs:0.0} | {p.UserPageMs:0.0} |\n");
        return table.Append("\nA store that answers these pages from an index reads 51 index entries and 51 documents whatever it holds, so both query " +
                            "columns stay flat and an insert costs the same at any size. Columns that grow with the store mean the store scans: the " +
                            "jongodb stand-in keeps a collection as a list, runs every query over all of it (copying and sorting every match before " +
                            "the limit) and checks the unique `_id` against the whole collection at every insert command.").ToString();
    }

    private sealed record ScalePoint(int Stored, double SeededSeconds, double LastInsertSeconds, double ReasonPageMs, double UserPageMs);

    private static async Task SignInAsync(HttpClient client, string credential)
    {
        var form = await client.GetStringAsync("/SignIn");
        var token = AntiforgeryToken().Match(form).Groups[1].Value;
        var response = await client.PostAsync("/SignIn", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Credential"] = credential, ["__RequestVerificationToken"] = token,
        }));
        if (response.StatusCode != HttpStatusCode.Redirect)
            throw new InvalidOperationException($"sign-in answered {(int)response.StatusCode}");
    }

    private static async Task<string> NextPageAsync(HttpClient client, string path)
    {
        var page = await client.GetStringAsync(path);
        return WebUtility.HtmlDecode(NextLink().Match(page).Groups[1].Value) is { Length: > 0 } next
            ? next
            : throw new InvalidOperationException($"{path} has no next page");
    }

    private static async Task<List<double>> MeasureAsync(HttpClient client, string path)
    {
        for (var i = 0; i < 3; i++)
            (await client.GetAsync(path)).EnsureSuccessStatusCode();
        var samples = new List<double>(Samples);
        for (var i = 0; i < Samples; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await client.GetAsync(path);
            _ = await response.Content.ReadAsByteArrayAsync();
            watch.Stop();
            response.EnsureSuccessStatusCode();
            samples.Add(watch.Elapsed.TotalMilliseconds);
        }
        return samples;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();

    [GeneratedRegex("id=\"next-page\" href=\"([^\"]+)\"")]
    private static partial Regex NextLink();
}
