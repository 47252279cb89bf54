using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using MongoDB.Driver;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Benchmarks.Reporting;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Storage;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>
/// The production worker as users run it (scripts/run.sh, docker compose): its own process, configured only through
/// environment variables, on its own least-privilege broker account and the shipped plans. This process only publishes
/// and listens for the answers; the worker's CPU is read from the operating system around each timed batch.
/// </summary>
public static class ProductionWorkerRun
{
    private enum Variant { ApiKeyFree, JwtFree, ApiKeyUnlimited }

    private sealed record RunResult(double MessagesPerSecond, double P50, double P95, double WorkerCpuMicrosecondsPerMessage,
        double BenchCpuMicrosecondsPerMessage, double WorkerWorkingSetMb, int Served, int LogLines, double LoadAverage,
        double JitThreadMicrosecondsPerMessage, double GcThreadsMicrosecondsPerMessage);

    /// <summary>Tokens a request of this benchmark may reserve, as an upper bound: prompt and the answer's cap are about 1,000.</summary>
    private const int TokensPerMessageBound = 10_000;

    private const string Subject = "bench-user";

    // The warm-up goes in batches of this many, the growing collections emptied before each.
    private const int WarmUpChunk = 1_000;

    /// <summary>Runs the variants; <paramref name="inProcess"/> is the in-process section's median CPU per message of the same run (API key, HS256 JWT; null when not run), for the comparison.</summary>
    public static async Task RunAsync(BenchSettings settings, BenchmarkReport report, (double? ApiKey, double? Jwt) inProcess)
    {
        await using var environment = await BenchEnvironment.StartAsync(settings, "bench-e2e-process");
        environment.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        await using var accounts = await RabbitMqRoleAccounts.CreateAsync(environment.VirtualHost);
        using var mongo = new MongoClient(ServiceAddresses.Mongo);
        var warmUp = settings.WorkerWarmUp;
        var batches = settings.WorkerBatches;
        var variants = Enum.GetValues<Variant>().Where(v => settings.ProcessVariants.Count == 0 || settings.ProcessVariants.Contains(ShortName(v))).ToArray();
        // results: the first timed batch of each run (the report's figure); byBatch: every batch, by the worker's age.
        var results = variants.ToDictionary(v => v, _ => new List<RunResult>());
        var byBatch = variants.ToDictionary(v => v, _ => Enumerable.Range(0, batches).Select(_ => new List<RunResult>()).ToArray());
        var random = new Random(20261130);
        if (settings.WorkerEnvironment.Count > 0)
            Console.WriteLine($"worker process environment added: {string.Join(' ', settings.WorkerEnvironment.Select(kv => $"{kv.Key}={kv.Value}"))}");
        for (var round = 0; round < settings.Rounds; round++)
        {
            foreach (var variant in variants.OrderBy(_ => random.Next()).ToArray())
            {
                var runs = await RunOnceAsync(environment, accounts, mongo, variant, warmUp, settings.Messages, batches, settings.WorkerSettleSeconds, settings.WorkerFreshData, settings.WorkerEnvironment, settings.WorkerDll);
                results[variant].Add(runs[0]);
                for (var b = 0; b < runs.Count; b++)
                {
                    var result = runs[b];
                    byBatch[variant][b].Add(result);
                    Console.WriteLine($"round {round + 1} worker process {variant} batch {b + 1}: {result.MessagesPerSecond:0} msg/s, worker {result.WorkerCpuMicrosecondsPerMessage:0} µs CPU/msg (background JIT {result.JitThreadMicrosecondsPerMessage:0}, GC threads {result.GcThreadsMicrosecondsPerMessage:0}), " +
                                      $"bench {result.BenchCpuMicrosecondsPerMessage:0} µs CPU/msg, {result.Served}/{settings.Messages} served, {result.LogLines} log lines, load {result.LoadAverage:0.0}");
                }
            }
        }

        var table = new StringBuilder("| variant | worker CPU µs per message | of which background JIT | of which GC threads | msg/s | p50 ms | p95 ms | worker working set MB | served | worker log lines | this process's CPU µs per message |\n" +
                                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var (variant, runs) in results)
        {
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| {Describe(variant)} | {Distribution.Format(Distribution.OfRuns(runs.Select(r => r.WorkerCpuMicrosecondsPerMessage)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.JitThreadMicrosecondsPerMessage)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.GcThreadsMicrosecondsPerMessage)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.MessagesPerSecond)), "0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P50)), "0.0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.P95)), "0.0")} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.WorkerWorkingSetMb)), "0")} | " +
                $"{runs.Sum(r => r.Served):N0} of {runs.Count * settings.Messages:N0} | {runs.Sum(r => r.LogLines):N0} | " +
                $"{Distribution.Format(Distribution.OfRuns(runs.Select(r => r.BenchCpuMicrosecondsPerMessage)), "0")} |");
        }
        if (batches > 1)
        {
            table.Append(CultureInfo.InvariantCulture, $"\n| variant | {string.Join(" | ", Enumerable.Range(1, batches).Select(b => $"worker CPU µs per message, batch {b} (after {warmUp + (b - 1) * settings.Messages:N0} messages)"))} |\n");
            table.Append(CultureInfo.InvariantCulture, $"| --- |{string.Concat(Enumerable.Repeat(" --- |", batches))}\n");
            foreach (var (variant, runs) in byBatch)
                table.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Describe(variant)} | {string.Join(" | ", runs.Select(r => Distribution.Format(Distribution.OfRuns(r.Select(x => x.WorkerCpuMicrosecondsPerMessage)), "0")))} |");
        }
        if (settings.WorkerDll is { } dll)
            table.Append(CultureInfo.InvariantCulture, $"\nThe worker process ran from `{dll}` (`--worker-dll`), not the build's `{WorkerProcess.RelativePath}`.\n");
        if (settings.WorkerEnvironment.Count > 0)
            table.Append(CultureInfo.InvariantCulture, $"\nThe worker process ran with {string.Join(", ", settings.WorkerEnvironment.Select(kv => $"`{kv.Key}={kv.Value}`"))} added to its environment (`--worker-env`).\n");
        var loads = byBatch.Values.SelectMany(r => r).SelectMany(r => r).Select(r => r.LoadAverage).ToList();
        double? MedianOf(Variant variant) => results.TryGetValue(variant, out var runs) ? Distribution.OfRuns(runs.Select(r => r.WorkerCpuMicrosecondsPerMessage)).Median : null;
        var apiKey = MedianOf(Variant.ApiKeyFree);
        var jwt = MedianOf(Variant.JwtFree);
        var comparison = inProcess.ApiKey is { } inApiKey && apiKey is not null && jwt is not null
            ? $"In the same run the in-process section's (b) API key variant cost {inApiKey:0} µs per message for worker, publisher, listener and LLM " +
              $"stand-in together{(inProcess.Jwt is { } inJwt ? $", its (c) HS256 JWT variant {inJwt:0}" : "")}; here the worker alone costs {apiKey:0} and {jwt:0}. "
            : "";
        report.Section("End to end: the production worker as its own process",
            table + $"\nMedian (min–max) of {settings.Rounds} rounds of {settings.Messages} messages per variant; the variants run in a shuffled order in each round. " +
                    $"Each run starts `dotnet {WorkerProcess.RelativePath}` (the production entry point, as `scripts/run.sh` and the compose image run it) on a new, " +
                    "empty database, configured only through environment variables the way those two configure it: `ConnectionStrings__RabbitMq` as the " +
                    "`vocab-worker` account with the permissions `rabbitmq/definitions.json` gives it (on a throw-away virtual host), `ConnectionStrings__Mongo` " +
                    "and `Mongo__Database`, `Llm__Endpoint` at this process's instant OpenAI-compatible stand-in, an HS256 `Jwt__Keys__0__*`, `DeadLetter__SigningKey`, " +
                    "`Security__RequireTls=false` (as `scripts/dev-env.sh`: plaintext on loopback), `Logging__Format=json` and `Health__FilePath` (as compose), " +
                    "logs at `Serilog__MinimumLevel__Default=Warning`. Everything else is the shipped default: prefetch and concurrency " +
                    $"{new Vocab.Worker.Messaging.MessagingOptions().ConcurrentMessageLimit}, LLM retries 3, " +
                    "result reuse on (each message has its own transcript, so every one is a new question), the `user` role on the `free` plan with rate and " +
                    $"quota on and only its limits raised to what one run sends ({warmUp + settings.Messages * batches:N0} requests a minute and a month, " +
                    $"{TokensPerMessageBound:N0} tokens per request); the `unlimited` variant maps `user` to the shipped `unlimited` plan (`Plans__RoleMap__user`), " +
                    "which skips rate and quota. Once the worker consumes its queue (a passive declare sees its consumer), " +
                    $"{warmUp} messages (`--warm-up`, in batches of {WarmUpChunk:N0}) warm it up (JIT, connections, caches) and are answered before the timed batch{(settings.WorkerSettleSeconds > 0 ? $", which starts after {settings.WorkerSettleSeconds} s idle (`--settle`)" : "")}{(batches > 1 ? $" and {batches - 1} more timed batches follow in the same process (`--worker-batches`)" : "")}{(settings.WorkerFreshData ? "; stored results and failure records are emptied before each timed batch and each warm-up batch (unless `--keep-data`), so it starts on an empty database like each in-process run" : "")}. This process publishes " +
                    "(publisher confirms, up to 256 sends in flight) and listens for answers and refusals; it does not host the worker.\n\n" +
                    "**How to read it.** *Worker CPU per message* is the worker process's user + system time over the timed batch (from `/proc/<pid>/stat`, " +
                    "before and after) divided by the messages: what one served request costs the production host, without the publisher, the listener or the " +
                    "LLM stand-in, which is what the in-process section above measures in one figure. *Of which background JIT* is the part spent by the " +
                    "runtime's tiered compilation thread (re-compiling hot methods at tier 1), *of which GC threads* the part spent by the server or background GC " +
                    "threads (`/proc/<pid>/task/*`; a workstation GC also collects on the allocating threads, not counted there). *This process's CPU* is the other side (publisher, " +
                    "listener and LLM stand-in), for the comparison. The broker and MongoDB are not in either. msg/s and the latencies (publish to answer " +
                    "received) are wall-clock and move with the machine's load; CPU per message moves much less. *Served* counts the `VocabularyGenerated` " +
                    "answers; anything else (a refusal, a dead letter) would show there as less than all. *Worker log lines* counts what it wrote to the console during the timed batches (at Warning, none is expected for a served request). Working set is the worker's resident memory at the " +
                    "end of the timed batch. The worker runs with the runtime's default garbage collector (workstation, concurrent; " +
                    "`Vocab.Worker.runtimeconfig.json` sets none) where this benchmark runs server GC (`DOTNET_gcServer=1` on the worker made no clear difference). " +
                    $"The warm-up is long because a worker a few hundred messages old is still re-compiling its hot methods (tiered JIT): with 200 it cost about " +
                    "three times as much per message, running not yet optimised code while the background JIT re-compiled it, and since the worker got faster (2026-12-02) one 1,500 messages old still spent a quarter of its CPU there (see \"The worker as its own process\" under \"CPU profile of the worker\"). " + comparison +
                    $"The machine is shared: its 1-minute load average during these runs was {loads.Min():0.0}–{loads.Max():0.0} on " +
                    $"{Environment.ProcessorCount} cores.");

        foreach (var variant in variants)
            report.Figure($"Production worker process: CPU per message, {Describe(variant)}", results[variant].Select(r => r.WorkerCpuMicrosecondsPerMessage).ToList(), " µs");
    }

    /// <summary>
    /// Empties the collections that grow by one document per request: stored results and failure records, and
    /// request_claims and usage_ledger, what a build before 2026-12-02 (claims) or 2026-11-30 16:00 UTC (one ledger entry
    /// per request) grows when one runs through --worker-dll.
    /// </summary>
    private static async Task EmptyGrowingCollectionsAsync(IMongoClient mongo, string databaseName)
    {
        foreach (var collection in new[] { Vocab.Vocabularies.VocabularyStore.CollectionName, "request_claims", "usage_ledger" })
            await mongo.GetDatabase(databaseName).GetCollection<MongoDB.Bson.BsonDocument>(collection).DeleteManyAsync(FilterDefinition<MongoDB.Bson.BsonDocument>.Empty);
    }

    /// <summary>The runtime's background tiered compiler thread (".NET Tiered Compilation Worker", cut to 15 characters).</summary>
    private const string JitThread = ".NET Tiered Com";

    /// <summary>The runtime's GC threads: server GC's per-heap threads and the background (concurrent) GC thread.</summary>
    private static readonly string[] GcThreads = [".NET Server GC", ".NET BGC"];

    private static string ShortName(Variant variant) => variant switch
    {
        Variant.ApiKeyFree => "key",
        Variant.JwtFree => "jwt",
        _ => "unlimited",
    };

    private static string Describe(Variant variant) => variant switch
    {
        Variant.ApiKeyFree => "API key, `free` plan",
        Variant.JwtFree => "HS256 JWT + blacklist, `free` plan",
        _ => "API key, `unlimited` plan",
    };

    /// <summary>The worker's whole configuration, as environment variables (scripts/run.sh, docker-compose.yml).</summary>
    private static Dictionary<string, string> WorkerSettings(BenchEnvironment environment, RabbitMqRoleAccounts accounts, Variant variant, int requests, string healthFile)
    {
        var settings = new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ConnectionStrings__RabbitMq"] = accounts.AmqpUri(RabbitMqRoleAccounts.Worker).ToString(),
            ["ConnectionStrings__Mongo"] = ServiceAddresses.Mongo,
            ["Mongo__Database"] = environment.DatabaseName,
            ["Security__RequireTls"] = "false",
            ["Jwt__Issuer"] = TestTokens.Issuer,
            ["Jwt__Audience"] = TestTokens.Audience,
            ["Jwt__Keys__0__Id"] = TestTokens.HmacKeyId,
            ["Jwt__Keys__0__Algorithm"] = "HS256",
            ["Jwt__Keys__0__Secret"] = TestTokens.HmacSecret,
            ["DeadLetter__SigningKey"] = TestTokens.DeadLetterSigningKey,
            ["Llm__Endpoint"] = environment.Llm.Endpoint,
            ["Llm__Model"] = "bench",
            ["Llm__ApiKey"] = "bench",
            ["Logging__Format"] = "json",
            ["Health__FilePath"] = healthFile,
            ["Serilog__MinimumLevel__Default"] = "Warning",
            // The shipped free plan, rate and quota on, its limits raised only as far as one run's requests need.
            ["Plans__free__RequestsPerMinute"] = requests.ToString(CultureInfo.InvariantCulture),
            ["Plans__free__MonthlyRequests"] = requests.ToString(CultureInfo.InvariantCulture),
            ["Plans__free__MonthlyTokens"] = ((long)requests * TokensPerMessageBound).ToString(CultureInfo.InvariantCulture),
        };
        if (variant == Variant.ApiKeyUnlimited)
            settings["Plans__RoleMap__user"] = "unlimited";
        return settings;
    }

    private static async Task<List<RunResult>> RunOnceAsync(BenchEnvironment environment, RabbitMqRoleAccounts accounts, IMongoClient mongo, Variant variant, int warmUp, int messages,
        int batches, int settleSeconds, bool freshData, IReadOnlyList<KeyValuePair<string, string>> extraEnvironment, string? workerDll)
    {
        // A fresh database per run: stored answers grow with every message, and no variant may inherit another's.
        environment.UseFreshDatabase();
        var database = new VocabDatabase(mongo, Options.Create(new MongoOptions { Database = environment.DatabaseName }));
        var apiKey = (await new ApiKeyStore(database).CreateAsync(Subject, Roles.User, DateTime.UtcNow)).Key;
        var token = environment.Tokens.Hs256(Subject, expires: DateTime.UtcNow.AddHours(1));
        var healthFile = Path.Combine(Path.GetTempPath(), $"vocab-bench-worker-{Guid.NewGuid():N}");

        await using var amqp = await new ConnectionFactory { Uri = environment.VirtualHost.AmqpUri }.CreateConnectionAsync();
        var workerSettings = WorkerSettings(environment, accounts, variant, warmUp + messages * batches, healthFile);
        foreach (var (name, value) in extraEnvironment)
            workerSettings[name] = value;
        await using var worker = WorkerProcess.Start(workerSettings, workerDll);
        Console.WriteLine($"worker process {variant} started, pid {worker.Id}");
        await worker.WaitUntilConsumingAsync(amqp, QueueNames.DefaultInput, TimeSpan.FromMinutes(2));

        var batch = new Batch(0);
        var publisher = await environment.StartPublisherAsync(rabbit =>
            rabbit.ReceiveEndpoint($"bench-process-results-{Guid.NewGuid():N}", e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<VocabularyGenerated>(context =>
                {
                    Volatile.Read(ref batch).Complete(context.Message.RequestId, served: true);
                    return Task.CompletedTask;
                });
                e.Handler<GenerateVocabularyRejected>(context =>
                {
                    Volatile.Read(ref batch).Complete(context.Message.RequestId, served: false);
                    return Task.CompletedTask;
                });
            }));
        try
        {
            await using var channel = await amqp.CreateChannelAsync();
            await ListenAsync(channel, QueueNames.Error(QueueNames.DefaultInput), null, delivery =>
            {
                using var json = JsonDocument.Parse(delivery.Body);
                var message = json.RootElement.TryGetProperty("message", out var m) ? m : json.RootElement;
                return message.TryGetProperty("requestId", out var id) && Guid.TryParse(id.GetString(), out var requestId) ? requestId : null;
            }, id => Volatile.Read(ref batch).Complete(id, served: false));
            // A refused credential is filed on _refused with the message's ids only: the message id is the requestId.
            await ListenAsync(channel, QueueNames.Refused(QueueNames.DefaultInput),
                new Dictionary<string, object?> { ["x-max-length"] = 10_000, ["x-overflow"] = "drop-head" },
                delivery => Guid.TryParse(delivery.BasicProperties.MessageId, out var requestId) ? requestId : null,
                id => Volatile.Read(ref batch).Complete(id, served: false));
            var endpoint = await publisher.GetSendEndpoint(new Uri($"queue:{QueueNames.DefaultInput}"));

            // In chunks, the growing collections emptied before each, so a long warm-up does not slow down on the stand-in.
            for (var warmed = 0; warmed < warmUp; warmed += WarmUpChunk)
            {
                if (freshData)
                    await EmptyGrowingCollectionsAsync(mongo, environment.DatabaseName);
                Volatile.Write(ref batch, new Batch(Math.Min(WarmUpChunk, warmUp - warmed)));
                await SendAsync(endpoint, batch, variant, apiKey, token, $"warm-up-{warmed}");
                await batch.WaitAsync(worker);
            }

            // Idle, the worker still pays for what the warm-up started (tiered JIT in the background): its CPU per 10 s shows how long.
            for (var waited = 0; waited < settleSeconds; waited += 10)
            {
                var cpuBefore = worker.CpuTime;
                var seconds = Math.Min(10, settleSeconds - waited);
                await Task.Delay(TimeSpan.FromSeconds(seconds));
                Console.WriteLine($"  settling {waited}-{waited + seconds} s after the warm-up: worker CPU {(worker.CpuTime - cpuBefore).TotalMilliseconds:0} ms");
            }

            var results = new List<RunResult>();
            for (var b = 0; b < batches; b++)
            {
                // The stand-in's lookups slow down as a collection grows: emptied, a later batch runs on as small a database as the first.
                if (freshData)
                    await EmptyGrowingCollectionsAsync(mongo, environment.DatabaseName);
                Volatile.Write(ref batch, new Batch(messages));
                using var bench = Process.GetCurrentProcess();
                var benchCpuBefore = bench.TotalProcessorTime;
                var workerCpuBefore = worker.CpuTime;
                await using var jitMeter = new ThreadCpuMeter(worker, JitThread);
                await using var gcMeter = new ThreadCpuMeter(worker, GcThreads);
                var linesBefore = worker.LinesWritten;
                var started = Stopwatch.GetTimestamp();
                await SendAsync(endpoint, batch, variant, apiKey, token, $"timed-{b}");
                await batch.WaitAsync(worker);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var workerCpu = worker.CpuTime - workerCpuBefore;
                var jit = await jitMeter.StopAsync();
                var gcMilliseconds = (await gcMeter.StopAsync()).TotalMilliseconds;
                bench.Refresh();
                var benchCpu = bench.TotalProcessorTime - benchCpuBefore;
                var workingSet = worker.WorkingSetMb;
                var samples = batch.Latencies;
                results.Add(new RunResult(messages / elapsed, Distribution.Percentile(samples, 50), Distribution.Percentile(samples, 95),
                    workerCpu.TotalMilliseconds * 1000 / messages, benchCpu.TotalMilliseconds * 1000 / messages, workingSet, batch.Served, worker.LinesWritten - linesBefore,
                    LoadAverage(), jit.TotalMilliseconds * 1000 / messages, gcMilliseconds * 1000 / messages));
            }
            return results;
        }
        finally
        {
            await publisher.StopAsync();
            if (!await worker.StopAsync(TimeSpan.FromSeconds(30)))
                Console.WriteLine($"  the worker (pid {worker.Id}) did not stop within 30 s of SIGTERM and was killed");
            File.Delete(healthFile);
        }
    }

    private static async Task ListenAsync(IChannel channel, string queue, IDictionary<string, object?>? arguments,
        Func<BasicDeliverEventArgs, Guid?> requestIdOf, Action<Guid> complete)
    {
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments);
        await channel.QueuePurgeAsync(queue);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            if (requestIdOf(delivery) is { } requestId)
                complete(requestId);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
    }

    private static async Task SendAsync(ISendEndpoint endpoint, Batch batch, Variant variant, string apiKey, string token, string tag)
    {
        using var inFlight = new SemaphoreSlim(256);
        var sends = Enumerable.Range(0, batch.Expected).Select(async i =>
        {
            await inFlight.WaitAsync();
            try
            {
                // Each its own transcript: the worker's result reuse (on, as shipped) finds nothing to reuse.
                var request = new GenerateVocabulary
                {
                    RequestId = Guid.NewGuid(), VideoId = $"bench-{tag}-{i}", Transcript = $"A short transcript for the benchmark, {tag} message {i}.",
                    SourceLanguage = "en", TargetLanguage = "ko", MaxItems = 5,
                };
                batch.Sending(request.RequestId);
                await endpoint.Send(request, context =>
                {
                    context.MessageId = request.RequestId;
                    if (variant == Variant.JwtFree)
                        context.UseBearerToken(token);
                    else
                        context.UseApiKey(apiKey);
                });
            }
            finally
            {
                inFlight.Release();
            }
        });
        await Task.WhenAll(sends);
    }

    /// <summary>The 1-minute load average (/proc/loadavg), NaN where there is none.</summary>
    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>One batch of requests: when each was sent, which were answered, done when all were.</summary>
    private sealed class Batch(int expected)
    {
        private readonly ConcurrentDictionary<Guid, long> _sent = new();
        private readonly ConcurrentBag<double> _latencies = [];
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = expected;
        private int _served;

        public int Expected { get; } = expected;

        public int Served => Volatile.Read(ref _served);

        public double[] Latencies => _latencies.ToArray();

        public void Sending(Guid requestId) => _sent[requestId] = Stopwatch.GetTimestamp();

        public void Complete(Guid requestId, bool served)
        {
            if (!_sent.TryRemove(requestId, out var start))
                return;
            _latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (served)
                Interlocked.Increment(ref _served);
            if (Interlocked.Decrement(ref _remaining) == 0)
                _done.TrySetResult();
        }

        public async Task WaitAsync(WorkerProcess worker)
        {
            var deadline = Stopwatch.GetTimestamp() + 5 * 60 * Stopwatch.Frequency;
            while (!_done.Task.IsCompleted)
            {
                if (worker.HasExited)
                    throw new InvalidOperationException($"The worker (pid {worker.Id}) exited with {Volatile.Read(ref _remaining)} of {Expected} requests unanswered:\n{worker.Tail}");
                if (Stopwatch.GetTimestamp() > deadline)
                    throw new TimeoutException($"{Volatile.Read(ref _remaining)} of {Expected} requests unanswered after 5 minutes; the worker's last lines:\n{worker.Tail}");
                await Task.WhenAny(_done.Task, Task.Delay(500));
            }
        }
    }
}
