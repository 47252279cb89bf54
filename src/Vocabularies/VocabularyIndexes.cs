using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Vocabularies;

/// <summary>
/// Indexes of the vocabularies collection: a caller's lists by video and newest first, the reuse key, and the expiry of
/// failure records (only they carry <c>expiresAt</c>; answers are kept).
/// </summary>
public sealed class VocabularyIndexes : IMongoIndexSetup
{
    public const string ExpiryIndexName = "expires_ttl";

    /// <inheritdoc />
    public async Task CreateIndexesAsync(VocabDatabase database, CancellationToken cancellationToken)
    {
        var keys = Builders<VocabularyDocument>.IndexKeys;
        await database.Collection<VocabularyDocument>(VocabularyStore.CollectionName).Indexes.CreateManyAsync(
        [
            new CreateIndexModel<VocabularyDocument>(keys.Ascending(d => d.UserId).Ascending(d => d.VideoId).Descending(d => d.CreatedAt),
                new CreateIndexOptions { Name = "user_video_newest" }),
            new CreateIndexModel<VocabularyDocument>(keys.Ascending(d => d.UserId).Descending(d => d.CreatedAt),
                new CreateIndexOptions { Name = "user_newest" }),
            new CreateIndexModel<VocabularyDocument>(keys.Ascending(d => d.ReuseKey),
                new CreateIndexOptions { Name = "reuse_key" }),
            new CreateIndexModel<VocabularyDocument>(keys.Ascending(d => d.ExpiresAt),
                new CreateIndexOptions { Name = ExpiryIndexName, ExpireAfter = TimeSpan.Zero }),
        ], cancellationToken);
    }
}
