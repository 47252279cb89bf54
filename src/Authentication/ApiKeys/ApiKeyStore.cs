using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Authentication.ApiKeys;

/// <summary>The <c>api_keys</c> collection: keys found by hash, created, listed, revoked and expired.</summary>
public sealed class ApiKeyStore(VocabDatabase database)
{
    /// <summary>The collection's name.</summary>
    public const string CollectionName = "api_keys";

    private readonly IMongoCollection<ApiKeyDocument> _collection = database.Collection<ApiKeyDocument>(CollectionName);

    /// <summary>The key whose hash this is; null when none.</summary>
    public async Task<ApiKeyDocument?> FindByHashAsync(string hash, CancellationToken cancellationToken) =>
        await _collection.Find(k => k.Hash == hash).FirstOrDefaultAsync(cancellationToken);

    /// <summary>The key with this id; null when none.</summary>
    public async Task<ApiKeyDocument?> FindByIdAsync(string keyId, CancellationToken cancellationToken) =>
        await _collection.Find(k => k.KeyId == keyId).FirstOrDefaultAsync(cancellationToken);

    /// <summary>Generates a key for the user and stores only its hash; the key is returned once.</summary>
    public async Task<IssuedApiKey> CreateAsync(string userId, string role, DateTime now, DateTime? expiresAt = null,
        string? name = null, string? rotatedFrom = null, CancellationToken cancellationToken = default)
    {
        var (keyId, key) = ApiKeyFormat.Generate();
        var stored = new ApiKeyDocument
        {
            KeyId = keyId, Hash = ApiKeyFormat.Hash(key), UserId = userId, Role = role, Name = name,
            Active = true, CreatedAt = now, ExpiresAt = expiresAt, RotatedFrom = rotatedFrom,
        };
        await _collection.InsertOneAsync(stored, cancellationToken: cancellationToken);
        return new IssuedApiKey(key, stored);
    }

    /// <summary>Keys for many users in one write (load tests, imports); each key is returned once, only hashes are stored.</summary>
    public async Task<IReadOnlyList<IssuedApiKey>> CreateManyAsync(IReadOnlyList<string> userIds, string role, DateTime now, CancellationToken cancellationToken = default)
    {
        var issued = userIds.Select(userId =>
        {
            var (keyId, key) = ApiKeyFormat.Generate();
            return new IssuedApiKey(key, new ApiKeyDocument
            {
                KeyId = keyId, Hash = ApiKeyFormat.Hash(key), UserId = userId, Role = role, Active = true, CreatedAt = now,
            });
        }).ToList();
        await _collection.InsertManyAsync(issued.Select(i => i.Stored), new InsertManyOptions { IsOrdered = false }, cancellationToken);
        return issued;
    }

    /// <summary>All keys, or one user's, newest first.</summary>
    public async Task<IReadOnlyList<ApiKeyDocument>> ListAsync(string? userId, CancellationToken cancellationToken)
    {
        var filter = userId is null ? Builders<ApiKeyDocument>.Filter.Empty : Builders<ApiKeyDocument>.Filter.Eq(k => k.UserId, userId);
        return await _collection.Find(filter).SortByDescending(k => k.CreatedAt).ToListAsync(cancellationToken);
    }

    /// <summary>Deactivates a key; false when there is no such key.</summary>
    public async Task<bool> RevokeAsync(string keyId, DateTime now, CancellationToken cancellationToken)
    {
        var result = await _collection.UpdateOneAsync(k => k.KeyId == keyId,
            Builders<ApiKeyDocument>.Update.Set(k => k.Active, false).Set(k => k.RevokedAt, now),
            cancellationToken: cancellationToken);
        return result.MatchedCount > 0;
    }

    /// <summary>Makes a key expire at the given time (rotation's grace period); false when there is no such key.</summary>
    public async Task<bool> ExpireAtAsync(string keyId, DateTime expiresAt, CancellationToken cancellationToken)
    {
        var result = await _collection.UpdateOneAsync(k => k.KeyId == keyId,
            Builders<ApiKeyDocument>.Update.Set(k => k.ExpiresAt, expiresAt), cancellationToken: cancellationToken);
        return result.MatchedCount > 0;
    }

    /// <summary>Writes last-use times, one update per key, never moving a time backwards.</summary>
    public async Task RecordLastUsedAsync(IReadOnlyDictionary<string, DateTime> lastUsed, CancellationToken cancellationToken)
    {
        if (lastUsed.Count == 0)
            return;
        var filter = Builders<ApiKeyDocument>.Filter;
        // "Set if newer" spelled as a filter rather than $max, which not every MongoDB-compatible server implements.
        var updates = lastUsed.Select(pair => new UpdateOneModel<ApiKeyDocument>(
            filter.Eq(k => k.KeyId, pair.Key) & (filter.Eq(k => k.LastUsedAt, null) | filter.Lt(k => k.LastUsedAt, pair.Value)),
            Builders<ApiKeyDocument>.Update.Set(k => k.LastUsedAt, pair.Value)));
        await _collection.BulkWriteAsync(updates, new BulkWriteOptions { IsOrdered = false }, cancellationToken);
    }
}
