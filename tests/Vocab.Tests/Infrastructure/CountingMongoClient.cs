using MongoDB.Driver;
using MongoDB.Driver.Core.Events;
using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>A client of the test MongoDB that counts the commands it sends, by command and collection (<c>update usage_months</c>).</summary>
public sealed class CountingMongoClient
{
    private readonly Dictionary<string, int> _commands = new(StringComparer.Ordinal);

    public CountingMongoClient()
    {
        var settings = MongoClientSettings.FromConnectionString(ServiceAddresses.Mongo);
        settings.ClusterConfigurator = cluster => cluster.Subscribe<CommandStartedEvent>(e =>
        {
            var collection = e.Command.TryGetValue(e.CommandName, out var value) && value.IsString ? value.AsString : "";
            lock (_commands)
                _commands[$"{e.CommandName} {collection}"] = _commands.GetValueOrDefault($"{e.CommandName} {collection}") + 1;
        });
        Client = new MongoClient(settings);
    }

    public MongoClient Client { get; }

    /// <summary>How many times <paramref name="command"/> (<c>"&lt;command&gt; &lt;collection&gt;"</c>) was sent so far.</summary>
    public int Sent(string command)
    {
        lock (_commands)
            return _commands.GetValueOrDefault(command);
    }
}
