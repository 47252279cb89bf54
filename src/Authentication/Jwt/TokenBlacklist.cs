using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// Revoked tokens: the <c>revoked_tokens</c> blacklist of jtis and the <c>user_revocations</c> per-user not-before.
/// Both are looked up in parallel and cached for <see cref="AuthenticationOptions.CacheDuration"/>.
/// </summary>
public sealed class TokenBlacklist(VocabDatabase database, LookupCache cache)
{
    /// <summary>The jti blacklist collection.</summary>
    public const string RevokedTokensCollection = "revoked_tokens";

    /// <summary>The per-user revocation collection.</summary>
    public const string UserRevocationsCollection = "user_revocations";

    private readonly IMongoCollection<RevokedTokenDocument> _tokens = database.Collection<RevokedTokenDocument>(RevokedTokensCollection);
    private readonly IMongoCollection<UserRevocationDocument> _users = database.Collection<UserRevocationDocument>(UserRevocationsCollection);

    /// <summary>True when the jti is blacklisted or the user revoked every token issued before <paramref name="issuedAt"/>.</summary>
    public async ValueTask<bool> IsRevokedAsync(string tokenId, string userId, DateTime? issuedAt, CancellationToken cancellationToken)
    {
        var tokenRevoked = cache.GetOrLoadAsync((nameof(TokenBlacklist), "jti", tokenId), ct => _tokens.Find(t => t.TokenId == tokenId).AnyAsync(ct), cancellationToken);
        var userNotBefore = cache.GetOrLoadAsync((nameof(TokenBlacklist), "user", userId), async ct =>
            (await _users.Find(u => u.UserId == userId).FirstOrDefaultAsync(ct))?.NotBefore, cancellationToken);

        var revoked = await tokenRevoked;
        var notBeforeOrNull = await userNotBefore;
        if (revoked)
            return true;
        // A token without iat cannot prove it came after a user-wide revocation.
        return notBeforeOrNull is { } notBefore && (issuedAt is null || issuedAt.Value < notBefore);
    }

    /// <summary>Blacklists a jti until <paramref name="expiresAt"/>.</summary>
    public Task RevokeAsync(string tokenId, DateTime expiresAt, DateTime now, CancellationToken cancellationToken) =>
        _tokens.ReplaceOneAsync(t => t.TokenId == tokenId,
            new RevokedTokenDocument { TokenId = tokenId, ExpiresAt = expiresAt, RevokedAt = now },
            new ReplaceOptions { IsUpsert = true }, cancellationToken);

    /// <summary>Refuses every token of the user issued before <paramref name="notBefore"/>.</summary>
    public Task RevokeUserAsync(string userId, DateTime notBefore, CancellationToken cancellationToken) =>
        _users.ReplaceOneAsync(u => u.UserId == userId,
            new UserRevocationDocument { UserId = userId, NotBefore = notBefore },
            new ReplaceOptions { IsUpsert = true }, cancellationToken);
}
