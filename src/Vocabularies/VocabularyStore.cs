using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Vocabularies;

/// <summary>Stores and reads vocabulary lists; always scoped to one user when read on a caller's behalf.</summary>
public sealed class VocabularyStore(VocabDatabase database)
{
    /// <summary>The collection's name.</summary>
    public const string CollectionName = "vocabularies";

    // Stores and reuse lookups in flight at once go as one command each (a group commit), up to this many.
    private const int MaxPerCommand = 64;

    private readonly IMongoCollection<VocabularyDocument> _collection = database.Collection<VocabularyDocument>(CollectionName);

    private GroupCommit<VocabularyDocument, VocabularyDocument>? _inserts;
    private GroupCommit<string, VocabularyDocument?>? _reuseLookups;
    private GroupCommit<string, VocabularyDocument?>? _requestLookups;

    // Built on first use: a field initializer cannot reach the instance's collection. One instance is ever published.
    private GroupCommit<VocabularyDocument, VocabularyDocument> Inserts =>
        LazyInitializer.EnsureInitialized(ref _inserts, () => new GroupCommit<VocabularyDocument, VocabularyDocument>(InsertAllAsync, MaxPerCommand));

    private GroupCommit<string, VocabularyDocument?> ReuseLookups =>
        LazyInitializer.EnsureInitialized(ref _reuseLookups, () => new GroupCommit<string, VocabularyDocument?>(FindAllByReuseKeyAsync, MaxPerCommand));

    private GroupCommit<string, VocabularyDocument?> RequestLookups =>
        LazyInitializer.EnsureInitialized(ref _requestLookups, () => new GroupCommit<string, VocabularyDocument?>(FindAllByRequestIdAsync, MaxPerCommand));

    /// <summary>The stored list of a request, whoever it belongs to; null when none. Lookups in flight at once share one query.</summary>
    public Task<VocabularyDocument?> FindByRequestIdAsync(Guid requestId, CancellationToken cancellationToken) =>
        RequestLookups.SubmitAsync("", requestId.ToString("D"), cancellationToken);

    /// <summary>
    /// The list first produced for this question (see <see cref="VocabularyDocument.ReuseKey"/>; lists that reused it
    /// are left out); null when none. Lookups in flight at once share one query.
    /// </summary>
    public Task<VocabularyDocument?> FindByReuseKeyAsync(string reuseKey, CancellationToken cancellationToken) =>
        ReuseLookups.SubmitAsync("", reuseKey, cancellationToken);

    /// <summary>Stores a new list; returns the one already stored when a redelivery raced this insert. Stores in flight at once share one insert.</summary>
    public Task<VocabularyDocument> InsertOrGetAsync(VocabularyDocument document, CancellationToken cancellationToken) =>
        Inserts.SubmitAsync("", document).WaitAsync(cancellationToken);

    private async Task FindAllByReuseKeyAsync(string _, IReadOnlyList<GroupCommitEntry<string, VocabularyDocument?>> batch)
    {
        var keys = batch.Select(e => e.Item).Distinct(StringComparer.Ordinal).ToList();
        var f = Builders<VocabularyDocument>.Filter;
        var found = await _collection.Find(f.In(VocabularyDocument.ReuseKeyField, keys) & f.Ne(VocabularyDocument.ReusedField, true)).ToListAsync();
        var byKey = found.GroupBy(d => d.ReuseKey ?? "", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var entry in batch)
            entry.Complete(byKey.GetValueOrDefault(entry.Item));
    }

    private async Task FindAllByRequestIdAsync(string _, IReadOnlyList<GroupCommitEntry<string, VocabularyDocument?>> batch)
    {
        var ids = batch.Select(e => e.Item).Distinct(StringComparer.Ordinal).ToList();
        var found = (await _collection.Find(Builders<VocabularyDocument>.Filter.In("_id", ids)).ToListAsync())
            .ToDictionary(d => d.RequestId, StringComparer.Ordinal);
        foreach (var entry in batch)
            entry.Complete(found.GetValueOrDefault(entry.Item));
    }

    private async Task InsertAllAsync(string _, IReadOnlyList<GroupCommitEntry<VocabularyDocument, VocabularyDocument>> batch)
    {
        if (batch.Count > 1)
        {
            try
            {
                await _collection.InsertManyAsync(batch.Select(e => e.Item), new InsertManyOptions { IsOrdered = false });
                foreach (var entry in batch)
                    entry.Complete(entry.Item);
                return;
            }
            catch (Exception e) when (e is MongoBulkWriteException || MongoErrors.IsDuplicateKey(e))
            {
                // One of them was stored already (a redelivery raced it) or failed (MongoDB reports it as a write error;
                // some servers fail the whole command): each again on its own, which finds what is stored and fails only
                // the one that cannot be.
            }
        }
        // Each alone, at once (they are independent documents), failing alone.
        await Task.WhenAll(batch.Select(async entry =>
        {
            try
            {
                entry.Complete(await InsertOneOrGetAsync(entry.Item));
            }
            catch (Exception e)
            {
                entry.Fail(e);
            }
        }));
    }

    private async Task<VocabularyDocument> InsertOneOrGetAsync(VocabularyDocument document)
    {
        try
        {
            await _collection.InsertOneAsync(document);
            return document;
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            return await _collection.Find(d => d.RequestId == document.RequestId).FirstAsync();
        }
    }

    /// <summary>
    /// The charges of the answers stored under <paramref name="requestIds"/> before <paramref name="storedBefore"/> (for the
    /// orphan sweep), by requestId; answers without one are left out.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, StoredCharge>> FindChargesAsync(IReadOnlyCollection<string> requestIds, DateTime storedBefore,
        CancellationToken cancellationToken)
    {
        var f = Builders<VocabularyDocument>.Filter;
        var found = await _collection.Find(f.In("_id", requestIds) & f.Exists("charge") & f.Lt("createdAt", storedBefore))
            .Project<VocabularyDocument>(Builders<VocabularyDocument>.Projection.Include("charge")).ToListAsync(cancellationToken);
        return found.Where(d => d.Charge is not null).ToDictionary(d => d.RequestId, d => d.Charge!, StringComparer.Ordinal);
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
