using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Driver;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Failures;
using Vocab.Messaging.DeadLetters;
using Vocab.Storage;
using Vocab.TestSupport;

namespace Vocab.Tests.Ops;

/// <summary>
/// The ops console's ingestor as its own process, SIGKILLed while it moves a backlog of signed dead letters into the
/// failure store: after a restart every copy is stored exactly once, counted once in the overview, and the queue is empty.
/// </summary>
public sealed class FailureIngestorKillTests : IAsyncLifetime
{
    private const int Copies = 1500;
    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private RabbitMqVirtualHost _vhost = null!;
    private IMongoClient _mongo = null!;

    public async Task InitializeAsync()
    {
        _vhost = await RabbitMqVirtualHost.CreateAsync("ops-ingest");
        await _vhost.ImportDefinitionsAsync();
        _mongo = new MongoClient(ServiceAddresses.Mongo);
    }

    public async Task DisposeAsync()
    {
        await MongoCleanup.DropDatabaseAsync(_mongo, _database);
        await _vhost.DisposeAsync();
    }

    [Fact]
    public async Task IngestorKilledMidIngest_LosesNoFailure_DuplicatesNone_CountsEachOnce()
    {
        var published = await PublishSignedCopiesAsync();
        var failures = _mongo.GetDatabase(_database).GetCollection<BsonDocument>(FailureStore.CollectionName);

        long atKill;
        using (var first = StartOps())
        {
            // Killed once it has stored some and not all: the kill lands mid-ingest with deliveries in flight.
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while ((atKill = await CountAsync(failures, FilterDefinition<BsonDocument>.Empty)) < 20)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the ingestor stored nothing: {first.Tail()}");
                await Task.Delay(20);
            }
            first.Kill();
        }
        Assert.InRange(atKill, 1, Copies - 1);

        using (var second = StartOps())
        {
            // Generous: each copy is a dozen round trips with its counters, on a stand-in shared with other runs.
            var deadline = DateTime.UtcNow.AddSeconds(480);
            while (await CountAsync(failures, FilterDefinition<BsonDocument>.Empty) < Copies || await WaitingAsync() > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"ingestion did not finish: {second.Tail()}");
                await Task.Delay(200);
            }
            // What the killed process left lagging is brought along once its lease has run out (the housekeeping sweep).
            while (await CountAsync(failures, Builders<BsonDocument>.Filter.Eq("pending", true)) > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"counters still lag: {second.Tail()}");
                await Task.Delay(500);
            }
        }

        var stored = await failures.Find(FilterDefinition<BsonDocument>.Empty).Project(Builders<BsonDocument>.Projection.Include("_id").Include("verified"))
            .ToListAsync();
        Assert.Equal(Copies, stored.Count);
        Assert.Equal(published.OrderBy(id => id, StringComparer.Ordinal), stored.Select(d => d["_id"].AsString).OrderBy(id => id, StringComparer.Ordinal));
        Assert.All(stored, d => Assert.True(d["verified"].AsBoolean));
        Assert.Equal(0u, await WaitingAsync());

        // The overview's counters: every copy counted once, however the kill cut through its writes.
        var store = new FailureStore(new VocabDatabase(_mongo, Options.Create(new MongoOptions { Database = _database })), TimeProvider.System);
        var group = Assert.Single(await store.GroupsAsync(FailureStatus.Open, default));
        Assert.Equal((RejectionReasons.LlmUnavailable, (long)Copies, 17L), (group.Group, group.Count, group.UsersAffected));
        Assert.Equal(Copies, (await store.PerHourAsync(DateTime.UtcNow, 24, null, default)).Sum(h => h.Count));
    }

    private async Task<List<string>> PublishSignedCopiesAsync()
    {
        var tokens = new TestTokens().Configuration();
        var signer = new DeadLetterSigner(Options.Create(new DeadLetterSigningOptions
        {
            SigningKey = tokens["DeadLetter:SigningKey"]!, SigningKeyId = tokens["DeadLetter:SigningKeyId"]!,
        }));
        await using var connection = await new ConnectionFactory { Uri = _vhost.AmqpUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var ids = new List<string>();
        for (var i = 0; i < Copies; i++)
        {
            var id = Guid.CreateVersion7().ToString("D");
            var body = Encoding.UTF8.GetBytes($"{{\"videoId\":\"video-{i}\",\"transcript\":\"t {i}\"}}");
            var properties = new BasicProperties
            {
                MessageId = Guid.NewGuid().ToString(), ContentType = "application/json", Persistent = true,
                Headers = new Dictionary<string, object?>
                {
                    [VocabHeaders.DeadLetterId] = id,
                    [VocabHeaders.DeadLetteredAt] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                    [VocabHeaders.Reason] = RejectionReasons.LlmUnavailable,
                    [VocabHeaders.UserId] = $"user-{i % 17}",
                    [VocabHeaders.Role] = "user",
                },
            };
            signer.Sign(properties, body);
            await channel.BasicPublishAsync("", "generate-vocabulary_error", true, properties, body);
            ids.Add(id);
        }
        return ids;
    }

    // The test's own polling, while the ingestor writes: the MongoDB stand-in sometimes drops a connection whose count ran
    // into a concurrent write (its ConcurrentModificationException); a client reads again, and so does this poll.
    private static async Task<long> CountAsync(IMongoCollection<BsonDocument> collection, FilterDefinition<BsonDocument> filter)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await collection.CountDocumentsAsync(filter);
            }
            catch (MongoConnectionException) when (attempt < 5)
            {
            }
        }
    }

    private async Task<uint> WaitingAsync()
    {
        await using var connection = await new ConnectionFactory { Uri = _vhost.AmqpUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync("generate-vocabulary_error")).MessageCount;
    }

    private OpsProcess StartOps()
    {
        var management = ServiceAddresses.RabbitMqManagement;
        var credentials = management.UserInfo.Split(':');
        var configuration = new Dictionary<string, string?>(new TestTokens().Configuration())
        {
            ["ConnectionStrings:RabbitMq"] = _vhost.AmqpUri.ToString(),
            ["ConnectionStrings:Mongo"] = ServiceAddresses.Mongo,
            ["Mongo:Database"] = _database,
            ["Security:RequireTls"] = "false",
            ["Ops:IngestPrefetch"] = "100",
            ["Ops:ManagementUri"] = new UriBuilder(management) { UserName = "", Password = "" }.Uri.ToString(),
            ["Ops:ManagementUser"] = credentials[0],
            ["Ops:ManagementPassword"] = credentials[1],
            ["urls"] = "https://127.0.0.1:0",
            ["Kestrel:Certificates:Default:Path"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.pem"),
            ["Kestrel:Certificates:Default:KeyPath"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.key"),
        };
        return new OpsProcess(configuration);
    }

    /// <summary>The console's production entry point as its own process (built by dotnet build).</summary>
    private sealed class OpsProcess : IDisposable
    {
        private readonly Process _process;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public OpsProcess(IReadOnlyDictionary<string, string?> configuration)
        {
            var directory = RepositoryFiles.PathOf("src/Ops/bin/Release/net10.0");
            var start = new ProcessStartInfo("dotnet", [Path.Combine(directory, "Vocab.Ops.dll")])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory,
            };
            start.Environment["DOTNET_ENVIRONMENT"] = "Development";
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
            foreach (var (name, value) in configuration)
                start.Environment[name.Replace(":", "__", StringComparison.Ordinal)] = value;
            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Tail() => string.Join(Environment.NewLine, _lines.TakeLast(40));

        /// <summary>SIGKILL: nothing is flushed or acknowledged on the way out.</summary>
        public void Kill()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }

        private void Keep(string? line)
        {
            if (line is not null)
                _lines.Enqueue(line);
        }
    }
}
