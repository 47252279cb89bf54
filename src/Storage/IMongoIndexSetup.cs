namespace Vocab.Storage;

/// <summary>Creates one area's indexes; every registration runs at start-up, idempotently.</summary>
public interface IMongoIndexSetup
{
    /// <summary>Creates the indexes if they do not exist.</summary>
    Task CreateIndexesAsync(VocabDatabase database, CancellationToken cancellationToken);
}
