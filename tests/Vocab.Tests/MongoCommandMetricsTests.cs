using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Events;
using MongoDB.Driver.Core.Servers;
using Vocab.Storage;

namespace Vocab.Tests;

/// <summary>
/// <see cref="MongoCommandMetrics"/> on the driver's own event types: each answer is timed under its command's collection,
/// and commands whose answers never come cannot grow what it keeps for ever.
/// </summary>
public sealed class MongoCommandMetricsTests
{
    private static readonly ConnectionId Connection = new(new ServerId(new ClusterId(), new DnsEndPoint("localhost", 27017)));
    private static readonly DatabaseNamespace Database = new("metrics-test");

    [Fact]
    public void AnswersAfterThousandsNeverAnswered_AreStillTimedUnderTheirOwnCollection()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var metrics = new MongoCommandMetrics(meters);
        var timed = new List<(string Collection, double Milliseconds)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "vocab.mongo.command.duration")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "collection")
                    timed.Add(((string)tag.Value!, value));
        });
        listener.Start();

        // Far more than the map keeps: were they all kept, it would grow with every lost answer.
        for (var id = 1; id <= 10_000; id++)
            metrics.Started(Started("insert", "lost", id));
        metrics.Started(Started("insert", "request_claims", 20_001));
        metrics.Started(Started("find", "vocabularies", 20_002));
        metrics.Succeeded(new CommandSucceededEvent("insert", new BsonDocument("ok", 1), Database, null, 20_001, Connection, TimeSpan.FromMilliseconds(7)));
        metrics.Failed(new CommandFailedEvent("find", Database, new MongoException("boom"), null, 20_002, Connection, TimeSpan.FromMilliseconds(3)));

        Assert.Equal([("request_claims", 7.0), ("vocabularies", 3.0)], timed);
        Assert.Equal(10_002, metrics.Totals().Values.Sum());
        Assert.InRange(metrics.CommandsAwaitingAnswer, 0, 4096);
    }

    private static CommandStartedEvent Started(string command, string collection, int requestId) =>
        new(command, new BsonDocument(command, collection), Database, null, requestId, Connection);
}
