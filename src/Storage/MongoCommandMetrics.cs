using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MongoDB.Driver.Core.Events;

namespace Vocab.Storage;

/// <summary>
/// Every MongoDB command this process sends, by command and collection (meter <c>Vocab.Storage</c>:
/// <c>vocab.mongo.commands</c>), read off the driver's command events. Each is a round trip (and, on a replica set with
/// majority writes, a journal flush): the hot path's cost is counted here, and the tests and benchmarks hold it to a budget.
/// </summary>
public sealed class MongoCommandMetrics
{
    public const string MeterName = "Vocab.Storage";

    // Commands that carry their collection under another name than the command's own.
    private static readonly Dictionary<string, string> CollectionField = new(StringComparer.Ordinal) { ["getMore"] = "collection" };

    private readonly Counter<long> _commands;
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    public MongoCommandMetrics(IMeterFactory meters) =>
        _commands = meters.Create(MeterName).CreateCounter<long>("vocab.mongo.commands", description: "MongoDB commands sent, by command and collection");

    /// <summary>Counts one command (the driver's <see cref="CommandStartedEvent"/>).</summary>
    public void Started(CommandStartedEvent started)
    {
        var field = CollectionField.GetValueOrDefault(started.CommandName, started.CommandName);
        var collection = started.Command.TryGetValue(field, out var value) && value.IsString ? value.AsString : "";
        _commands.Add(1, new KeyValuePair<string, object?>("command", started.CommandName), new KeyValuePair<string, object?>("collection", collection));
        _totals.AddOrUpdate($"{started.CommandName} {collection}".TrimEnd(), 1, (_, n) => n + 1);
    }

    /// <summary>Commands sent so far, keyed "command collection" (no collection for server commands such as <c>ping</c>).</summary>
    public IReadOnlyDictionary<string, long> Totals() => new Dictionary<string, long>(_totals, StringComparer.Ordinal);
}
