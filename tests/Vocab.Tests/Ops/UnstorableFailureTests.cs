using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Driver;
using RabbitMQ.Client;
using Vocab.Failures;
using Vocab.Messaging.DeadLetters;
using Vocab.Storage;
using Vocab.TestSupport;

namespace Vocab.Tests.Ops;

/// <summary>
/// A dead-letter copy the failure store cannot hold whole (a header name MongoDB refuses, a body too large for one
/// document) is stored as its metadata, unverified: left on the queue, it would block every failure behind it for good.
/// </summary>
public sealed class UnstorableFailureTests : IAsyncLifetime
{
    private readonly string _database = $"vocab_test_{Guid.NewGuid():N}";
    private readonly MongoClient _client = new(ServiceAddresses.Mongo);
    private FailureIngestor _ingestor = null!;
    private IMongoCollection<BsonDocument> _failures = null!;

    public async Task InitializeAsync()
    {
        var database = new VocabDatabase(_client, Options.Create(new MongoOptions { Database = _database }));
        await new FailureIndexes().CreateIndexesAsync(database, default);
        var tokens = new TestTokens().Configuration();
        var signer = new DeadLetterSigner(Options.Create(new DeadLetterSigningOptions
        {
            SigningKey = tokens["DeadLetter:SigningKey"]!, SigningKeyId = tokens["DeadLetter:SigningKeyId"]!,
        }));
        _ingestor = new FailureIngestor(new FailureReader(signer), new FailureStore(database, TimeProvider.System), Options.Create(new FailureOptions()),
            TimeProvider.System, NullLogger<FailureIngestor>.Instance);
        _failures = database.Database.GetCollection<BsonDocument>(FailureStore.CollectionName);
    }

    public async Task DisposeAsync() => await MongoCleanup.DropDatabaseAsync(_client, _database);

    [Fact]
    public async Task HeaderNameWithANul_IsStoredAsItsMetadata()
    {
        var messageId = Guid.NewGuid().ToString();
        var properties = new BasicProperties
        {
            MessageId = messageId, Headers = new Dictionary<string, object?> { ["bad\0name"] = "x", ["X-Fine"] = "y" },
        };

        Assert.True(await _ingestor.IngestAsync(properties, Encoding.UTF8.GetBytes("""{"videoId":"v-nul"}"""), FailureQueues.Error, default));

        var stored = await _failures.Find(new BsonDocument("messageId", messageId)).SingleAsync();
        Assert.False(stored["verified"].AsBoolean);
        Assert.StartsWith("not stored whole", stored["unverified"].AsString, StringComparison.Ordinal);
        Assert.Equal("v-nul", stored["videoId"].AsString);
    }

    [Fact]
    public async Task BodyTooLargeForOneDocument_IsStoredAsItsMetadata_ItsValuesCut()
    {
        var messageId = Guid.NewGuid().ToString();
        // 9 MB: the document would hold it three times (the body, the copy, the video id), over MongoDB's 16 MB.
        var videoId = new string('v', 9_000_000);

        Assert.True(await _ingestor.IngestAsync(new BasicProperties { MessageId = messageId, Headers = new Dictionary<string, object?>() },
            Encoding.UTF8.GetBytes($$"""{"videoId":"{{videoId}}"}"""), FailureQueues.Error, default));

        var stored = await _failures.Find(new BsonDocument("messageId", messageId)).SingleAsync();
        Assert.False(stored["verified"].AsBoolean);
        Assert.Equal(UnstorableFailure.MaxValueLength, stored["videoId"].AsString.Length);
        Assert.Equal("", stored["body"].AsString);
    }
}
