using MassTransit;
using MongoDB.Driver;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>The real services answer: a MassTransit publish/consume through RabbitMQ and a document through MongoDB.Driver.</summary>
public sealed class FoundationTests
{
    public sealed record Ping(Guid Id);

    private sealed class PingConsumer(TaskCompletionSource<Guid> received) : IConsumer<Ping>
    {
        public Task Consume(ConsumeContext<Ping> context)
        {
            received.TrySetResult(context.Message.Id);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Publish_ThroughRealRabbitMq_IsConsumed()
    {
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("foundation");
        var received = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(vhost.AmqpUri);
            rabbit.ReceiveEndpoint("ping", e => e.Consumer(() => new PingConsumer(received)));
        });
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        try
        {
            var id = Guid.NewGuid();
            await bus.Publish(new Ping(id));
            Assert.Equal(id, await received.Task.WaitAsync(TimeSpan.FromSeconds(15)));
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    public sealed record Note(string Id, string Text, DateTime At);

    [Fact]
    public async Task Document_RoundTripsThroughMongoDb()
    {
        var client = new MongoClient(ServiceAddresses.Mongo);
        var databaseName = $"vocab_test_{Guid.NewGuid():N}";
        var collection = client.GetDatabase(databaseName).GetCollection<Note>("notes");
        var note = new Note(Guid.NewGuid().ToString("N"), "hello", new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc));
        try
        {
            await collection.WithWriteConcern(WriteConcern.WMajority).InsertOneAsync(note);
            var read = await collection.Find(n => n.Text == "hello").SingleAsync();
            Assert.Equal(note, read);
        }
        finally
        {
            await MongoCleanup.DropDatabaseAsync(client, databaseName);
        }
    }
}
