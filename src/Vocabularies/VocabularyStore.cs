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
    private GroupCommit<(string Id, string? ReuseKey), RequestLookup>? _lookups;

    // Built on first use: a field initializer cannot reach the instance's collection. One instance is ever published.
    private GroupCommit<VocabularyDocument, VocabularyDocument> Inserts =>
        LazyInitializer.EnsureInitialized(ref _inserts, () => new GroupCommit<VocabularyDocument, VocabularyDocument>(InsertAllAsync, MaxPerCommand));

    private GroupCommit<string, VocabularyDocument?> ReuseLookups =>
        LazyInitializer.EnsureInitialized(ref _reuseLookups, () => new GroupCommit<string, VocabularyDocument?>(FindAllByReuseKeyAsync, MaxPerCommand));

    private GroupCommit<(string Id, string? ReuseKey), RequestLookup> Lookups =>
        LazyInitializer.EnsureInitialized(ref _lookups, () => new GroupCommit<(string Id, string? ReuseKey), RequestLookup>(FindAllForRequestAsync, MaxPerCommand));

    private GroupCommit<string, VocabularyDocument?> RequestLookups =>
        LazyInitializer.EnsureInitialized(ref _requestLookups, () => new GroupCommit<string, VocabularyDocument?>(FindAllByRequestIdAsync, MaxPerCommand));

    /// <summary>
    /// What a request finds before it is admitted, in one query: what is stored under its requestId (an answer, or a
    /// failure record), and with <paramref name="reuseKey"/> the first answer to the same question. Lookups in flight at
    /// once share one query.
    /// </summary>
    public Task<RequestLookup> FindForRequestAsync(Guid requestId, string? reuseKey, CancellationToken cancellationToken) =>
        Lookups.SubmitAsync("", (requestId.ToString("D"), reuseKey), cancellationToken);

    /// <summary>The stored list of a request, whoever it belongs to; null when none (or only a failure record). Lookups in flight at once share one query.</summary>
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

    private async Task FindAllForRequestAsync(string _, IReadOnlyList<GroupCommitEntry<(string Id, string? ReuseKey), RequestLookup>> batch)
    {
        var f = Builders<VocabularyDocument>.Filter;
        var ids = batch.Select(e => e.Item.Id).Distinct(StringComparer.Ordinal).ToList();
        var keys = batch.Select(e => e.Item.ReuseKey).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var filter = f.In("_id", ids);
        if (keys.Count > 0)
            filter |= f.In(VocabularyDocument.ReuseKeyField, keys) & f.Ne(VocabularyDocument.ReusedField, true);
        var found = await _collection.Find(filter).ToListAsync();
        var byId = found.ToDictionary(d => d.RequestId, StringComparer.Ordinal);
        var byKey = found.Where(d => d.ReuseKey is not null && !d.Reused).GroupBy(d => d.ReuseKey!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var entry in batch)
            entry.Complete(new RequestLookup(byId.GetValueOrDefault(entry.Item.Id),
                entry.Item.ReuseKey is { } key ? byKey.GetValueOrDefault(key) : null));
    }

    private async Task FindAllByRequestIdAsync(string _, IReadOnlyList<GroupCommitEntry<string, VocabularyDocument?>> batch)
    {
        var ids = batch.Select(e => e.Item).Distinct(StringComparer.Ordinal).ToList();
        var f = Builders<VocabularyDocument>.Filter;
        var found = (await _collection.Find(f.In("_id", ids) & f.Exists(VocabularyDocument.FailedInMonthField, false)).ToListAsync())
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
            // The caller's own failure record of the request gives way to its answer; an answer stored already wins.
            var f = Builders<VocabularyDocument>.Filter;
            var replaced = await _collection.ReplaceOneAsync(
                f.Eq("_id", document.RequestId) & f.Exists(VocabularyDocument.FailedInMonthField) & f.Eq(VocabularyDocument.UserIdField, document.UserId), document);
            return replaced.MatchedCount == 1 ? document : await _collection.Find(d => d.RequestId == document.RequestId).FirstAsync();
        }
    }

    /// <summary>
    /// Records that a request failed after it was counted in <paramref name="month"/> (its reservation given back), unless
    /// its answer is stored: a resend finds the record, is not counted again that month, and is refused with another body.
    /// Kept for <paramref name="keepFor"/> from <paramref name="now"/>, or until the request is served.
    /// </summary>
    public async Task RecordFailureAsync(Guid requestId, string userId, string fingerprint, string month, DateTime now, TimeSpan keepFor,
        CancellationToken cancellationToken)
    {
        var id = requestId.ToString("D");
        var expiresAt = now + keepFor;
        try
        {
            await _collection.InsertOneAsync(new VocabularyDocument
            {
                RequestId = id, UserId = userId, Fingerprint = fingerprint, FailedInMonth = month, ExpiresAt = expiresAt, CreatedAt = now,
            }, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            // Failed before: the latest month it was counted in. An answer stored meanwhile is left as it is.
            var f = Builders<VocabularyDocument>.Filter;
            await _collection.UpdateOneAsync(f.Eq("_id", id) & f.Exists(VocabularyDocument.FailedInMonthField),
                Builders<VocabularyDocument>.Update.Set(VocabularyDocument.FailedInMonthField, month).Set(VocabularyDocument.ExpiresAtField, expiresAt),
                cancellationToken: cancellationToken);
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
        await _collection.Find(d => d.UserId == userId && d.VideoId == videoId && d.FailedInMonth == null)
            .SortByDescending(d => d.CreatedAt).FirstOrDefaultAsync(cancellationToken);

    /// <summary>One page of the user's lists, newest first.</summary>
    public async Task<IReadOnlyList<VocabularyDocument>> ListForUserAsync(string userId, int page, int pageSize, CancellationToken cancellationToken) =>
        await _collection.Find(d => d.UserId == userId && d.FailedInMonth == null)
            .SortByDescending(d => d.CreatedAt)
            .Skip((page - 1) * pageSize).Limit(pageSize)
            .ToListAsync(cancellationToken);
}
