using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>
/// Exact monthly quotas shared by every instance: a request is admitted (counted, its estimated tokens reserved) in one
/// conditional update of the user's month, keyed by its requestId so redelivery, retries and replays never count twice;
/// it is settled to its actual tokens after the LLM call, or its reservation released when it fails.
/// </summary>
public sealed class QuotaLedger(VocabDatabase database, TimeProvider time)
{
    public const string UsageCollection = "usage_months";
    public const string LedgerCollection = "usage_ledger";

    private readonly IMongoCollection<UsageDocument> _usage = database.Collection<UsageDocument>(UsageCollection);
    private readonly IMongoCollection<LedgerEntry> _ledger = database.Collection<LedgerEntry>(LedgerCollection);

    /// <summary>Admits the request under the plan's monthly limits, or says when the month resets.</summary>
    public async Task<QuotaDecision> AdmitAsync(Guid requestId, string userId, Plan plan, long estimatedTokens, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var month = UsageMonth.Of(now);
        var usageId = $"{userId}|{month}";
        var id = requestId.ToString("D");
        var f = Builders<UsageDocument>.Filter;
        var filter = f.Eq(u => u.Id, usageId) & f.Ne("admitted", id);
        if (plan.Limits.MonthlyRequests is { } requests)
            filter &= f.Lt(u => u.Requests, requests);
        if (plan.Limits.MonthlyTokens is { } tokens)
            filter &= f.Lte(u => u.CommittedTokens, tokens - estimatedTokens);
        var update = Builders<UsageDocument>.Update
            .Inc(u => u.Requests, 1).Inc(u => u.ReservedTokens, estimatedTokens).Inc(u => u.CommittedTokens, estimatedTokens)
            .AddToSet(u => u.Admitted, id)
            .SetOnInsert(u => u.UserId, userId).SetOnInsert(u => u.Month, month).SetOnInsert(u => u.Plan, plan.Name);
        try
        {
            await _usage.UpdateOneAsync(filter, update, new UpdateOptions { IsUpsert = true }, cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            // The month exists and the filter refused: either this request was admitted before, or the quota is spent.
            var current = await _usage.Find(u => u.Id == usageId).FirstOrDefaultAsync(cancellationToken);
            if (current is null || !current.Admitted.Contains(id))
                return new QuotaDecision(false, UsageMonth.ResetsAt(now));
        }

        var entryId = EntryId(userId, requestId);
        await _ledger.UpdateOneAsync(l => l.RequestId == entryId,
            Builders<LedgerEntry>.Update.SetOnInsert(l => l.UsageId, usageId).SetOnInsert(l => l.ReservedTokens, estimatedTokens)
                .SetOnInsert(l => l.State, LedgerEntry.Reserved).SetOnInsert(l => l.At, now.UtcDateTime),
            new UpdateOptions { IsUpsert = true }, cancellationToken);
        return new QuotaDecision(true, UsageMonth.ResetsAt(now));
    }

    /// <summary>Replaces the request's reservation by its actual tokens, once.</summary>
    public async Task SettleAsync(string userId, Guid requestId, long actualTokens, CancellationToken cancellationToken)
    {
        var entryId = EntryId(userId, requestId);
        var entry = await _ledger.FindOneAndUpdateAsync(
            l => l.RequestId == entryId && l.State == LedgerEntry.Reserved,
            Builders<LedgerEntry>.Update.Set(l => l.State, LedgerEntry.Settled).Set(l => l.ActualTokens, actualTokens),
            cancellationToken: cancellationToken);
        if (entry is null)
            return;
        await _usage.UpdateOneAsync(u => u.Id == entry.UsageId, Builders<UsageDocument>.Update
            .Inc(u => u.ReservedTokens, -entry.ReservedTokens).Inc(u => u.UsedTokens, actualTokens)
            .Inc(u => u.CommittedTokens, actualTokens - entry.ReservedTokens), cancellationToken: cancellationToken);
    }

    /// <summary>Gives back a failed request's token reservation, once.</summary>
    public async Task ReleaseAsync(string userId, Guid requestId, CancellationToken cancellationToken)
    {
        var entryId = EntryId(userId, requestId);
        var entry = await _ledger.FindOneAndUpdateAsync(l => l.RequestId == entryId && l.State == LedgerEntry.Reserved,
            Builders<LedgerEntry>.Update.Set(l => l.State, LedgerEntry.Released), cancellationToken: cancellationToken);
        if (entry is null)
            return;
        // The request itself stays counted (once, whatever its retries and replays); its token reservation goes back.
        await _usage.UpdateOneAsync(u => u.Id == entry.UsageId, Builders<UsageDocument>.Update
            .Inc(u => u.ReservedTokens, -entry.ReservedTokens).Inc(u => u.CommittedTokens, -entry.ReservedTokens), cancellationToken: cancellationToken);
    }

    // Keyed by user and request: another caller reusing a requestId must never touch this caller's entry.
    private static string EntryId(string userId, Guid requestId) => $"{userId}|{requestId:D}";

    /// <summary>The user's usage in a month; an empty one when there is none.</summary>
    public async Task<UsageDocument> GetAsync(string userId, string month, CancellationToken cancellationToken) =>
        await _usage.Find(u => u.Id == $"{userId}|{month}").FirstOrDefaultAsync(cancellationToken)
        ?? new UsageDocument { Id = $"{userId}|{month}", UserId = userId, Month = month };

    /// <summary>Every user's usage in a month.</summary>
    public async Task<IReadOnlyList<UsageDocument>> ListAsync(string month, CancellationToken cancellationToken) =>
        await _usage.Find(u => u.Month == month).SortBy(u => u.UserId).ToListAsync(cancellationToken);
}
