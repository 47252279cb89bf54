using Microsoft.Extensions.Hosting;

namespace Vocab.Storage;

/// <summary>Runs every <see cref="IMongoIndexSetup"/> before the app starts work, so an empty database is usable.</summary>
public sealed class MongoIndexInitializer(VocabDatabase database, IEnumerable<IMongoIndexSetup> setups) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var setup in setups)
            await setup.CreateIndexesAsync(database, cancellationToken);
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
