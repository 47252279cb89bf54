using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MongoDB.Driver.Core.Events;

namespace Vocab.Storage;

/// <summary>
/// Every MongoDB command this process sends, by command and collection (meter <c>Vocab.Storage</c>):
/// <c>vocab.mongo.commands</c> counts them and <c>vocab.mongo.command.duration</c> (ms) times them to their answer, read
/// off the driver's command events. Each is a round trip (and, on a replica set with majority writes, a journal flush):
/// the hot path's cost is counted here, the tests and benchmarks hold it to a budget, and the durations show ops when
/// the database, not the LLM, sets a request's pace.
/// </summary>
public sealed class MongoCommandMetrics
{
    public const string MeterName = "Vocab.Storage";

    // Commands that carry their collection under another name than the command's own.
    private static readonly Dictionary<string, string> CollectionField = new(StringComparer.Ordinal) { ["getMore"] = "collection" };

    private readonly Counter<long> _commands;
    private readonly Histogram<double> _durations;
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);
    // The collection of each command in flight, by the driver's request id: its answer's event does not name it. Bounded
    // far above the connection pool's commands in flight: were answers ever lost, it starts afresh rather than grow.
    private const int MaxInFlight = 4096;
    private readonly ConcurrentDictionary<int, string> _inFlight = new();
    private int _tracked;

    public MongoCommandMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _commands = meter.CreateCounter<long>("vocab.mongo.commands", description: "MongoDB commands sent, by command and collection");
        _durations = meter.CreateHistogram<double>("vocab.mongo.command.duration", unit: "ms",
            description: "Time from sending a MongoDB command to its answer, by command and collection");
    }

    /// <summary>Counts one command (the driver's <see cref="CommandStartedEvent"/>).</summary>
    public void Started(CommandStartedEvent started)
    {
        var field = CollectionField.GetValueOrDefault(started.CommandName, started.CommandName);
        var collection = started.Command.TryGetValue(field, out var value) && value.IsString ? value.AsString : "";
        _commands.Add(1, new KeyValuePair<string, object?>("command", started.CommandName), new KeyValuePair<string, object?>("collection", collection));
        _totals.AddOrUpdate($"{started.CommandName} {collection}".TrimEnd(), 1, (_, n) => n + 1);
        if (Interlocked.Increment(ref _tracked) > MaxInFlight)
        {
            _inFlight.Clear();
            Interlocked.Exchange(ref _tracked, 1);
        }
        _inFlight[started.RequestId] = collection;
    }

    /// <summary>Times one answered command (the driver's <see cref="CommandSucceededEvent"/>).</summary>
    public void Succeeded(CommandSucceededEvent succeeded) => Finished(succeeded.RequestId, succeeded.CommandName, succeeded.Duration);

    /// <summary>Times one failed command (the driver's <see cref="CommandFailedEvent"/>).</summary>
    public void Failed(CommandFailedEvent failed) => Finished(failed.RequestId, failed.CommandName, failed.Duration);

    /// <summary>Commands sent and not yet answered that this keeps the collection of (bounded).</summary>
    public int CommandsAwaitingAnswer => Volatile.Read(ref _tracked);

    /// <summary>Commands sent so far, keyed "command collection" (no collection for server commands such as <c>ping</c>).</summary>
    public IReadOnlyDictionary<string, long> Totals() => new Dictionary<string, long>(_totals, StringComparer.Ordinal);

    private void Finished(int requestId, string commandName, TimeSpan duration)
    {
        if (_inFlight.TryRemove(requestId, out var collection))
            Interlocked.Decrement(ref _tracked);
        _durations.Record(duration.TotalMilliseconds, new KeyValuePair<string, object?>("command", commandName),
            new KeyValuePair<string, object?>("collection", collection ?? ""));
    }
}
