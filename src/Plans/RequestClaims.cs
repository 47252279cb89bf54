using Microsoft.Extensions.Options;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>
/// Binds every requestId to its first request and lets one producer at a time work on it, across every worker:
/// the claim is written by the first admission (one conditional upsert), and the producer holds a renewable lease so a
/// crashed one is replaced once its lease runs out. With it, a requestId pays for at most one LLM call at a time. An
/// answered request keeps its lease until it runs out (ending it would be one more write): its stored answer, looked
/// up first, answers every later copy.
/// </summary>
public sealed class RequestClaims(VocabDatabase database, IOptions<PlansOptions> options, TimeProvider time)
{
    public const string CollectionName = "request_claims";

    private readonly IMongoCollection<RequestClaimDocument> _claims = database.Collection<RequestClaimDocument>(CollectionName);

    /// <summary>
    /// Records the request under its id if the id is new, leased to <paramref name="leaseOwner"/> when one is given (the
    /// usual first delivery then claims and leases in one command); says whether it matches what the id was first used for.
    /// </summary>
    public async Task<RequestClaim> RegisterAsync(Guid requestId, string userId, string fingerprint, CancellationToken cancellationToken,
        string? leaseOwner = null, TimeSpan lease = default)
    {
        var id = requestId.ToString("D");
        var now = time.GetUtcNow().UtcDateTime;
        var update = Builders<RequestClaimDocument>.Update
            .SetOnInsert(c => c.UserId, userId).SetOnInsert(c => c.Fingerprint, fingerprint)
            .SetOnInsert(c => c.CreatedAt, now).SetOnInsert(c => c.ExpiresAt, now + options.Value.LedgerRetention);
        if (leaseOwner is not null)
            update = update.SetOnInsert(c => c.Owner, leaseOwner).SetOnInsert(c => c.LeaseUntil, now + lease);
        RequestClaimDocument claim;
        try
        {
            claim = await UpsertAsync(id, update, cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            // Two first admissions raced on the insert: the loser reads the winner's claim.
            claim = await UpsertAsync(id, update, cancellationToken);
        }
        if (claim.Fingerprint != fingerprint || claim.UserId != userId)
            return new RequestClaim(RequestClaimState.Conflict);
        // Owners are unique per delivery: holding it means this very command inserted the claim.
        if (leaseOwner is not null && claim.Owner == leaseOwner)
            return new RequestClaim(RequestClaimState.Leased);
        return new RequestClaim(RequestClaimState.Open, claim.CountedMonth, claim.LeaseUntil > now ? claim.Owner : null);
    }

    private Task<RequestClaimDocument> UpsertAsync(string id, UpdateDefinition<RequestClaimDocument> update, CancellationToken cancellationToken) =>
        _claims.FindOneAndUpdateAsync<RequestClaimDocument>(c => c.RequestId == id, update,
            new FindOneAndUpdateOptions<RequestClaimDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After }, cancellationToken);

    /// <summary>Takes (or renews) the lease on the request for <paramref name="owner"/>; false while another holds it.</summary>
    public async Task<bool> TryLeaseAsync(Guid requestId, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var f = Builders<RequestClaimDocument>.Filter;
        var filter = f.Eq(c => c.RequestId, requestId.ToString("D")) &
                     (f.Eq(c => c.Owner, null) | f.Eq(c => c.Owner, owner) | f.Lte(c => c.LeaseUntil, now));
        var result = await _claims.UpdateOneAsync(filter,
            Builders<RequestClaimDocument>.Update.Set(c => c.Owner, owner).Set(c => c.LeaseUntil, now + lease), cancellationToken: cancellationToken);
        return result.MatchedCount == 1;
    }

    /// <summary>The claim as it is now; null when there is none.</summary>
    public async Task<RequestClaimDocument?> GetAsync(Guid requestId, CancellationToken cancellationToken) =>
        await _claims.Find(c => c.RequestId == requestId.ToString("D")).FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// Gives the lease up without an answer (<paramref name="owner"/> null: when nobody held it), recording the month the
    /// attempt was counted in (<paramref name="countedInMonth"/>), so the next one that month reserves again uncounted.
    /// </summary>
    public Task ReleaseAsync(Guid requestId, string? owner, string? countedInMonth, CancellationToken cancellationToken)
    {
        var update = Builders<RequestClaimDocument>.Update.Unset(c => c.Owner).Unset(c => c.LeaseUntil);
        if (countedInMonth is not null)
            update = update.Set(c => c.CountedMonth, countedInMonth);
        return _claims.UpdateOneAsync(c => c.RequestId == requestId.ToString("D") && c.Owner == owner, update, cancellationToken: cancellationToken);
    }
}
