using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// Revoked tokens: blacklisted jtis and per-user "not before" times, in one collection so that a token's check is a
/// single MongoDB query for both, cached for <see cref="AuthenticationOptions.CacheDuration"/>.
/// </summary>
public sealed class TokenBlacklist(VocabDatabase database, LookupCache cache)
{
    /// <summary>The collection's name.</summary>
    public const string CollectionName = "token_revocations";

    private readonly IMongoCollection<RevocationDocument> _revocations = database.Collection<RevocationDocument>(CollectionName);

    /// <summary>
    /// True when the jti is blacklisted or the user revoked every token issued before <paramref name="issuedAt"/>. A token
    /// without a jti (<c>Jwt:RequireTokenId=false</c>) can be revoked only with its user's.
    /// </summary>
    public async ValueTask<bool> IsRevokedAsync(string? tokenId, string userId, DateTime? issuedAt, CancellationToken cancellationToken)
    {
        // No jti: a key that no document can have, so the query and its cache entry keep one shape.
        var tokenKey = tokenId is null ? "none:" : RevocationDocument.TokenKey(tokenId);
        var userKey = RevocationDocument.UserKey(userId);
        var entries = await cache.GetOrLoadAsync(nameof(TokenBlacklist), tokenKey + "\n" + userKey, async ct =>
            await _revocations.Find(Builders<RevocationDocument>.Filter.In(r => r.Id, [tokenKey, userKey])).ToListAsync(ct), cancellationToken);

        if (entries.Any(e => e.Id == tokenKey))
            return true;
        // A token without iat cannot prove it came after a user-wide revocation.
        return entries.FirstOrDefault(e => e.Id == userKey)?.NotBefore is { } notBefore && (issuedAt is null || issuedAt.Value < notBefore);
    }

    /// <summary>Blacklists a jti until <paramref name="expiresAt"/>.</summary>
    public Task RevokeAsync(string tokenId, DateTime expiresAt, DateTime now, CancellationToken cancellationToken) =>
        UpsertAsync(new RevocationDocument { Id = RevocationDocument.TokenKey(tokenId), ExpiresAt = expiresAt, RevokedAt = now }, cancellationToken);

    /// <summary>Refuses every token of the user issued before <paramref name="notBefore"/>.</summary>
    public Task RevokeUserAsync(string userId, DateTime notBefore, CancellationToken cancellationToken) =>
        UpsertAsync(new RevocationDocument { Id = RevocationDocument.UserKey(userId), NotBefore = notBefore, RevokedAt = notBefore }, cancellationToken);

    private Task UpsertAsync(RevocationDocument document, CancellationToken cancellationToken) =>
        _revocations.ReplaceOneAsync(r => r.Id == document.Id, document, new ReplaceOptions { IsUpsert = true }, cancellationToken);
}
