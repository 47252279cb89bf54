using Microsoft.Extensions.Options;
using MongoDB.Driver;

namespace Vocab.Storage;

/// <summary>The configured Vocab database, over the process's one <see cref="IMongoClient"/>.</summary>
public sealed class VocabDatabase(IMongoClient client, IOptions<MongoOptions> options)
{
    /// <summary>The database itself.</summary>
    public IMongoDatabase Database { get; } = client.GetDatabase(options.Value.Database);

    /// <summary>A typed collection of this database.</summary>
    public IMongoCollection<T> Collection<T>(string name) => Database.GetCollection<T>(name);
}
