using MongoDB.Driver;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Storage;

namespace Vocab.Authentication;

/// <summary>Indexes of the credential collections: unique key hash, keys by user, and the blacklist's TTL.</summary>
public sealed class AuthenticationIndexes : IMongoIndexSetup
{
    /// <inheritdoc />
    public async Task CreateIndexesAsync(VocabDatabase database, CancellationToken cancellationToken)
    {
        var keys = database.Collection<ApiKeyDocument>(ApiKeyStore.CollectionName);
        await keys.Indexes.CreateManyAsync(
        [
            new CreateIndexModel<ApiKeyDocument>(Builders<ApiKeyDocument>.IndexKeys.Ascending(k => k.Hash),
                new CreateIndexOptions { Name = "hash_unique", Unique = true }),
            new CreateIndexModel<ApiKeyDocument>(Builders<ApiKeyDocument>.IndexKeys.Ascending(k => k.UserId),
                new CreateIndexOptions { Name = "user" }),
        ], cancellationToken);

        // Blacklisted jtis disappear once the token would have expired anyway; user entries have no expiresAt and stay.
        await database.Collection<RevocationDocument>(TokenBlacklist.CollectionName).Indexes.CreateOneAsync(
            new CreateIndexModel<RevocationDocument>(Builders<RevocationDocument>.IndexKeys.Ascending(t => t.ExpiresAt),
                new CreateIndexOptions { Name = "expires_ttl", ExpireAfter = TimeSpan.Zero }), cancellationToken: cancellationToken);
    }
}
