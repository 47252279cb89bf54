using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Vocabularies;

/// <summary>Stores and reads vocabulary lists; always scoped to one user when read on a caller's behalf.</summary>
public sealed class VocabularyStore(VocabDatabase database)
{
    /// <summary>The collection's name.</summary>
    public const string CollectionName = "vocabularies";

    private readonly IMongoCollection<VocabularyDocument> _collection = database.Collection<VocabularyDocument>(CollectionName);

    /// <summary>The stored list of a request, whoever it belongs to; null when none.</summary>
    public async Task<VocabularyDocument?> FindByRequestIdAsync(Guid requestId, CancellationToken cancellationToken) =>
        await _collection.Find(d => d.RequestId == requestId.ToString("D")).FirstOrDefaultAsync(cancellationToken);

    /// <summary>Any stored list that answers this question (see <see cref="VocabularyDocument.ReuseKey"/>); null when none.</summary>
    public async Task<VocabularyDocument?> FindByReuseKeyAsync(string reuseKey, CancellationToken cancellationToken) =>
        await _collection.Find(d => d.ReuseKey == reuseKey).FirstOrDefaultAsync(cancellationToken);

    /// <summary>Stores a new list; returns the one already stored when a redelivery raced this insert.</summary>
    public async Task<VocabularyDocument> InsertOrGetAsync(VocabularyDocument document, CancellationToken cancellationToken)
    {
        try
        {
            await _collection.InsertOneAsync(document, cancellationToken: cancellationToken);
            return document;
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            return await _collection.Find(d => d.RequestId == document.RequestId).FirstAsync(cancellationToken);
        }
    }

    /// <summary>The user's newest list for a video; null when none.</summary>
    public async Task<VocabularyDocument?> FindLatestForVideoAsync(string userId, string videoId, CancellationToken cancellationToken) =>
        await _collection.Find(d => d.UserId == userId && d.VideoId == videoId)
            .SortByDescending(d => d.CreatedAt).FirstOrDefaultAsync(cancellationToken);

    /// <summary>One page of the user's lists, newest first.</summary>
    public async Task<IReadOnlyList<VocabularyDocument>> ListForUserAsync(string userId, int page, int pageSize, CancellationToken cancellationToken) =>
        await _collection.Find(d => d.UserId == userId)
            .SortByDescending(d => d.CreatedAt)
            .Skip((page - 1) * pageSize).Limit(pageSize)
            .ToListAsync(cancellationToken);
}
