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
    /// Leasing registrations in flight at once share one command (<see cref="RegisterAllAsync"/>).
    /// </summary>
    public async Task<RequestClaim> RegisterAsync(Guid requestId, string userId, string fingerprint, CancellationToken cancellationToken,
        string? leaseOwner = null, TimeSpan lease = default)
    {
        var registration = new Registration(requestId.ToString("D"), userId, fingerprint, leaseOwner, lease, time.GetUtcNow().UtcDateTime);
        return leaseOwner is null
            ? await RegisterOneAsync(registration, cancellationToken)
            : await Registrations.SubmitAsync("", registration, cancellationToken);
    }

    // One presentation of a request to its claim: who presents it, and the lease it asks for.
    private sealed record Registration(string Id, string UserId, string Fingerprint, string? LeaseOwner, TimeSpan Lease, DateTime Now);

    private const int MaxRegistrationsPerCommand = 64;

    private GroupCommit<Registration, RequestClaim>? _registrations;

    // Built on first use: a field initializer cannot reach the instance's collection.
    private GroupCommit<Registration, RequestClaim> Registrations =>
        LazyInitializer.EnsureInitialized(ref _registrations, () => new GroupCommit<Registration, RequestClaim>(RegisterAllAsync, MaxRegistrationsPerCommand));

    /// <summary>
    /// The registrations that arrived while the last was in flight, as one unordered <c>insert</c> of a new claim for the
    /// first copy of each id (the document each one's conditional upsert would insert alone). All inserted: each is
    /// claimed and leased by its caller. Some ids there already: the whole group is read back in one query and each is
    /// judged as alone (a claim holding its caller's lease owner, unique per delivery, is one this insert stored; servers
    /// differ in how much of a refused insert they apply and report), and those not found are inserted together once more. An insert, not a bulk of upserts, because it is the
    /// cheapest write for new documents: no lookup first (a bulk of 16 upserts took 0.3-1.1 s on the test stand-in as its
    /// collection grew, while a light user's claim waited behind it). Whatever is left (a second copy of an id, an id
    /// neither inserted nor found, any other failure) goes alone, at once, and finds what this command did store.
    /// </summary>
    private async Task RegisterAllAsync(string _, IReadOnlyList<GroupCommitEntry<Registration, RequestClaim>> batch)
    {
        var firsts = batch.DistinctBy(e => e.Item.Id, StringComparer.Ordinal).ToList();
        if (firsts.Count > 1)
        {
            try
            {
                // Twice at most: a server that refuses a whole insert for one id there already (the test stand-in does) has
                // stored none of the others, and they are tried together once more rather than one by one.
                var pending = firsts;
                for (var attempt = 0; attempt < 2 && pending.Count > 1; attempt++)
                {
                    if (await InsertAllAsync(pending.Select(e => e.Item)))
                    {
                        foreach (var entry in pending)
                            entry.Complete(new RequestClaim(RequestClaimState.Leased));
                        break;
                    }
                    var claims = (await _claims.Find(Builders<RequestClaimDocument>.Filter.In(c => c.RequestId, pending.Select(e => e.Item.Id))).ToListAsync())
                        .ToDictionary(c => c.RequestId, StringComparer.Ordinal);
                    foreach (var entry in pending)
                        if (claims.TryGetValue(entry.Item.Id, out var claim))
                            entry.Complete(StateOf(claim, entry.Item));
                    pending = pending.Where(e => !e.IsAnswered).ToList();
                }
            }
            catch (Exception e) when (e is MongoException or TimeoutException)
            {
                // Left to each alone, below: it finds whatever of this command was applied.
            }
        }
        await Task.WhenAll(batch.Where(e => !e.IsAnswered).Select(async entry =>
        {
            try
            {
                entry.Complete(await RegisterOneAsync(entry.Item, CancellationToken.None));
            }
            catch (Exception e)
            {
                entry.Fail(e);
            }
        }));
    }

    /// <summary>Inserts a leased claim for each registration in one unordered command: true if all were inserted, false if some id was there already.</summary>
    private async Task<bool> InsertAllAsync(IEnumerable<Registration> registrations)
    {
        try
        {
            await _claims.InsertManyAsync(registrations.Select(NewClaimOf), new InsertManyOptions { IsOrdered = false });
            return true;
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            return false;
        }
    }

    /// <summary>The claim a leasing registration inserts when its id is new: the fields <see cref="UpdateOf"/> sets on insert.</summary>
    private RequestClaimDocument NewClaimOf(Registration registration) => new()
    {
        RequestId = registration.Id,
        UserId = registration.UserId,
        Fingerprint = registration.Fingerprint,
        CreatedAt = registration.Now,
        ExpiresAt = registration.Now + options.Value.LedgerRetention,
        Owner = registration.LeaseOwner,
        LeaseUntil = registration.LeaseOwner is null ? null : registration.Now + registration.Lease,
    };

    private async Task<RequestClaim> RegisterOneAsync(Registration registration, CancellationToken cancellationToken)
    {
        var update = UpdateOf(registration);
        RequestClaimDocument claim;
        try
        {
            claim = await UpsertAsync(registration.Id, update, cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            // Two first admissions raced on the insert: the loser reads the winner's claim.
            claim = await UpsertAsync(registration.Id, update, cancellationToken);
        }
        return StateOf(claim, registration);
    }

    /// <summary>
    /// The claim's fields a registration sets if it is the first: whose request, its fingerprint, and its lease (the same
    /// as <see cref="NewClaimOf"/>).
    /// </summary>
    private UpdateDefinition<RequestClaimDocument> UpdateOf(Registration registration)
    {
        // Element names, not lambdas: this runs for every request, and a lambda is translated on every call.
        var update = Builders<RequestClaimDocument>.Update
            .SetOnInsert(RequestClaimDocument.UserIdField, registration.UserId).SetOnInsert(RequestClaimDocument.FingerprintField, registration.Fingerprint)
            .SetOnInsert(RequestClaimDocument.CreatedAtField, registration.Now)
            .SetOnInsert(RequestClaimDocument.ExpiresAtField, registration.Now + options.Value.LedgerRetention);
        if (registration.LeaseOwner is not null)
            update = update.SetOnInsert(RequestClaimDocument.OwnerField, registration.LeaseOwner)
                .SetOnInsert(RequestClaimDocument.LeaseUntilField, (DateTime?)(registration.Now + registration.Lease));
        return update;
    }

    private static RequestClaim StateOf(RequestClaimDocument claim, Registration registration)
    {
        if (claim.Fingerprint != registration.Fingerprint || claim.UserId != registration.UserId)
            return new RequestClaim(RequestClaimState.Conflict);
        // Owners are unique per delivery: holding it means this very registration inserted the claim.
        if (registration.LeaseOwner is not null && claim.Owner == registration.LeaseOwner)
            return new RequestClaim(RequestClaimState.Leased);
        return new RequestClaim(RequestClaimState.Open, claim.CountedMonth, claim.LeaseUntil > registration.Now ? claim.Owner : null);
    }

    private Task<RequestClaimDocument> UpsertAsync(string id, UpdateDefinition<RequestClaimDocument> update, CancellationToken cancellationToken) =>
        _claims.FindOneAndUpdateAsync(Builders<RequestClaimDocument>.Filter.Eq("_id", id), update,
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
