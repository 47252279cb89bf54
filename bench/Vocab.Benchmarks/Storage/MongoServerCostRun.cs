using System.Diagnostics;
using System.Globalization;
using System.Text;
using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Benchmarks.Reporting;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.Storage;

/// <summary>
/// What one command costs on the MongoDB the benchmarks ran against, as a collection grows: the server sets how much
/// the other parts' figures (fairness above all) move with stored data, so its own figures are in the report beside them.
/// </summary>
public static class MongoServerCostRun
{
    private static readonly int[] Sizes = [0, 500, 1_000, 2_000, 3_000];
    private const int Samples = 10;
    private const int ManyPerInsert = 20;

    public static async Task RunAsync(BenchmarkReport report)
    {
        var client = new MongoClient(ServiceAddresses.Mongo);
        var database = client.GetDatabase($"vocab_bench_cost_{Guid.NewGuid():N}");
        var collection = database.GetCollection<BsonDocument>("documents");
        var table = new StringBuilder("| documents in the collection | insert one new (ms) | insert 20 new in one command (ms) | update one by `_id` (ms) | find one by `_id` (ms) |\n| --- | --- | --- | --- | --- |\n");
        var stored = 0;
        foreach (var size in Sizes)
        {
            if (size > stored)
                await collection.InsertManyAsync(Enumerable.Range(stored, size - stored).Select(Document));
            stored = size;
            var insertOne = await MedianAsync(i => collection.InsertOneAsync(Document(stored + i)));
            stored += Samples;
            var insertMany = await MedianAsync(i => collection.InsertManyAsync(Enumerable.Range(stored + i * ManyPerInsert, ManyPerInsert).Select(Document)));
            stored += Samples * ManyPerInsert;
            var update = await MedianAsync(i => collection.UpdateOneAsync(new BsonDocument("_id", $"d-{i}"), new BsonDocument("$inc", new BsonDocument("n", 1))));
            var find = await MedianAsync(i => collection.Find(new BsonDocument("_id", $"d-{i}")).FirstOrDefaultAsync());
            table.AppendLine(CultureInfo.InvariantCulture, $"| {size:N0} | {insertOne:0.0} | {insertMany:0.0} | {update:0.0} | {find:0.0} |");
        }
        try
        {
            await database.DropCollectionAsync("documents");
        }
        catch (MongoCommandException)
        {
            // A server without the command keeps it; the database name is this run's own.
        }
        await MongoCleanup.DropDatabaseAsync(client, database.DatabaseNamespace.DatabaseName);
        report.Section("MongoDB: what one command costs as a collection grows", table
            + $"\nMedian of {Samples} commands, one at a time, on the MongoDB the benchmarks use (`VOCAB_MONGO_URI`; a collection of this run's own; documents of about 100 bytes). "
            + "On this machine that is the jongodb stand-in, whose writes grow with the square of the collection: each one checks "
            + "the unique `_id` of every document in it against a list of those already seen (jongodb 0.1.6, "
            + "`InMemoryCollectionStore.validateUniqueConstraints`), so doubling the collection makes a write about four times as long, "
            + "whether it writes one document or twenty, and writes to one collection run one at a time, reads waiting behind them. "
            + "Reads by `_id` scan the collection but stay short. A collection of 3,000 stored answers makes every write to it "
            + "some 70-90 ms, which is what slows the fairness part's burst (2,600 answers) and the scale-out part as they run. "
            + "MongoDB's B-tree indexes make a write grow with the logarithm of the collection instead: run `bench/run.sh mongo fairness` "
            + "with `VOCAB_MONGO_URI` set to a real server to see those parts without it. Grouping (the section above) sends one "
            + "write command for many messages, which is why it helps most here.");
    }

    private static BsonDocument Document(int i) => new() { ["_id"] = $"d-{i}", ["reuseKey"] = $"k-{i}", ["payload"] = new string('x', 64) };

    private static async Task<double> MedianAsync(Func<int, Task> command)
    {
        var times = new List<double>(Samples);
        for (var i = 0; i < Samples; i++)
        {
            var watch = Stopwatch.StartNew();
            await command(i);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[Samples / 2];
    }
}
