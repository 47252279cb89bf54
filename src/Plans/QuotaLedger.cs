using Microsoft.Extensions.Options;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>
/// Exact monthly quotas shared by every instance: a request is admitted (counted, its estimated tokens reserved) in one
/// conditional update of the user's month, and recorded in the ledger under its requestId, so redelivery, retries and
/// replays never count twice; it is settled to its actual tokens after the LLM call, or its reservation released when it
/// fails. A released request admitted again (a retry, a resend) reserves again, so every paid call has a live reservation.
/// </summary>
public sealed class QuotaLedger(VocabDatabase database, IOptions<PlansOptions> options, TimeProvider time)
{
    public const string UsageCollection = "usage_months";
    public const string LedgerCollection = "usage_ledger";

    private readonly IMongoCollection<UsageDocument> _usage = database.Collection<UsageDocument>(UsageCollection);
    private readonly IMongoCollection<LedgerEntry> _ledger = database.Collection<LedgerEntry>(LedgerCollection);

    /// <summary>
    /// Slots of recent counted requests in a usage document (a request's slot is a hash of its id). A redelivery or retry
    /// of a request that reached the ledger is found there; the slot covers the moment between counting and the ledger
    /// write. The one inexact case: a crash in that moment, and another request of the same user counted in the same slot
    /// before the first comes back, counts the first twice (at most 1 in this many such crashes on a busy account).
    /// </summary>
    public const int RecentSlots = 256;

    /// <summary>Admits the request under the plan's monthly limits, or says when the month resets.</summary>
    public async Task<QuotaDecision> AdmitAsync(Guid requestId, string userId, Plan plan, long estimatedTokens, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var month = UsageMonth.Of(now);
        var usageId = $"{userId}|{month}";
        var id = requestId.ToString("D");
        var refused = new QuotaDecision(false, UsageMonth.ResetsAt(now));
        // A limit of 0, or a request bigger than the whole month's tokens, admits nothing: the upsert below would insert
        // a fresh month whatever its filter says.
        if (plan.Limits.MonthlyRequests is 0 || plan.Limits.MonthlyTokens is { } monthTokens && estimatedTokens > monthTokens)
            return await FindEarlierAsync(userId, requestId, cancellationToken) is { } paid
                ? await ReadmitAsync(paid, plan, estimatedTokens, now, cancellationToken)
                : refused;
        // Tells this counting from another of the same request; short, as it is stored in a slot of the usage document.
        var admission = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

        if (!await TryCountAsync(usageId, id, admission, userId, month, plan, estimatedTokens, cancellationToken))
        {
            // Not counted now: counted a moment ago (its slot holds it), counted before that (the ledger has it), or over
            // the quota.
            var current = await _usage.Find(u => u.Id == usageId).FirstOrDefaultAsync(cancellationToken);
            if (current?.Recent.GetValueOrDefault(SlotOf(id)) is { } recent && recent.RequestId == id)
            {
                var entry = await RecordAsync(EntryId(userId, requestId), usageId, recent.Admission, estimatedTokens, now, cancellationToken);
                return await ReadmitAsync(entry, plan, estimatedTokens, now, cancellationToken);
            }
            return await FindEarlierAsync(userId, requestId, cancellationToken) is { } earlier
                ? await ReadmitAsync(earlier, plan, estimatedTokens, now, cancellationToken)
                : refused;
        }

        var recorded = await RecordAsync(EntryId(userId, requestId), usageId, admission, estimatedTokens, now, cancellationToken);
        if (recorded.Admission == admission)
            return new QuotaDecision(true, UsageMonth.ResetsAt(now));
        // The ledger knew this request from an earlier counting (a replay, long after): it was counted then, so this
        // counting is taken back, and the earlier entry says whether it still needs a reservation.
        await _usage.UpdateOneAsync(u => u.Id == usageId, Builders<UsageDocument>.Update
            .Inc(u => u.Requests, -1).Inc(u => u.ReservedTokens, -estimatedTokens).Inc(u => u.CommittedTokens, -estimatedTokens),
            cancellationToken: cancellationToken);
        return await ReadmitAsync(recorded, plan, estimatedTokens, now, cancellationToken);
    }

    private async Task<LedgerEntry?> FindEarlierAsync(string userId, Guid requestId, CancellationToken cancellationToken) =>
        await _ledger.Find(l => l.RequestId == EntryId(userId, requestId)).FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// A request the ledger already has: reserved (in flight, or a redelivery after a crash) or settled (answered) stays
    /// admitted as it is; released (it failed) reserves its tokens again, under the month's token limit, before it may
    /// call the LLM again. The request itself is counted once, whatever its retries.
    /// </summary>
    private async Task<QuotaDecision> ReadmitAsync(LedgerEntry entry, Plan plan, long estimatedTokens, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var admitted = new QuotaDecision(true, UsageMonth.ResetsAt(now));
        if (entry.State != LedgerEntry.Released)
            return admitted;
        var reclaimed = await _ledger.FindOneAndUpdateAsync(l => l.RequestId == entry.RequestId && l.State == LedgerEntry.Released,
            Builders<LedgerEntry>.Update.Set(l => l.State, LedgerEntry.Reserved).Set(l => l.ReservedTokens, estimatedTokens),
            cancellationToken: cancellationToken);
        if (reclaimed is null)
        {
            // Another attempt changed it a moment ago: admitted only if it now holds a reservation (or was answered).
            var now2 = await _ledger.Find(l => l.RequestId == entry.RequestId).FirstOrDefaultAsync(cancellationToken);
            return now2 is { State: LedgerEntry.Reserved or LedgerEntry.Settled } ? admitted : new QuotaDecision(false, UsageMonth.ResetsAt(now));
        }
        var f = Builders<UsageDocument>.Filter;
        var filter = f.Eq(u => u.Id, entry.UsageId);
        if (plan.Limits.MonthlyTokens is { } tokens)
            filter &= f.Lte(u => u.CommittedTokens, tokens - estimatedTokens);
        var result = await _usage.UpdateOneAsync(filter, Builders<UsageDocument>.Update
            .Inc(u => u.ReservedTokens, estimatedTokens).Inc(u => u.CommittedTokens, estimatedTokens), cancellationToken: cancellationToken);
        if (result.MatchedCount == 1)
            return admitted;
        await _ledger.UpdateOneAsync(l => l.RequestId == entry.RequestId && l.State == LedgerEntry.Reserved,
            Builders<LedgerEntry>.Update.Set(l => l.State, LedgerEntry.Released), cancellationToken: cancellationToken);
        return new QuotaDecision(false, UsageMonth.ResetsAt(now));
    }

    /// <summary>
    /// Counts the request in one conditional update of the user's month: only if its slot does not hold it already and
    /// the plan's limits leave room. False when the update was refused.
    /// </summary>
    private async Task<bool> TryCountAsync(string usageId, string id, string admission, string userId, string month, Plan plan,
        long estimatedTokens, CancellationToken cancellationToken)
    {
        var f = Builders<UsageDocument>.Filter;
        var slot = $"recent.{SlotOf(id)}";
        var filter = f.Eq(u => u.Id, usageId) & f.Ne($"{slot}.i", id);
        if (plan.Limits.MonthlyRequests is { } requests)
            filter &= f.Lt(u => u.Requests, requests);
        if (plan.Limits.MonthlyTokens is { } tokens)
            filter &= f.Lte(u => u.CommittedTokens, tokens - estimatedTokens);
        var update = Builders<UsageDocument>.Update
            .Inc(u => u.Requests, 1).Inc(u => u.ReservedTokens, estimatedTokens).Inc(u => u.CommittedTokens, estimatedTokens)
            .Set(slot, new RecentAdmission { RequestId = id, Admission = admission })
            .SetOnInsert(u => u.UserId, userId).SetOnInsert(u => u.Month, month).SetOnInsert(u => u.Plan, plan.Name);
        // Twice: the first try of a fresh month can lose the insert race to another instance's first request; the second
        // then finds the month and is judged by the filter. A duplicate key the second time means the filter refused it.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _usage.UpdateOneAsync(filter, update, new UpdateOptions { IsUpsert = true }, cancellationToken);
                return true;
            }
            catch (Exception e) when (MongoErrors.IsDuplicateKey(e) && attempt >= 2)
            {
                return false;
            }
            catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
            {
            }
        }
    }

    /// <summary>The request's ledger entry: written by the first counting to get here, returned as it is after that.</summary>
    private async Task<LedgerEntry> RecordAsync(string entryId, string usageId, string admission, long estimatedTokens, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var update = Builders<LedgerEntry>.Update.SetOnInsert(l => l.UsageId, usageId).SetOnInsert(l => l.ReservedTokens, estimatedTokens)
            .SetOnInsert(l => l.State, LedgerEntry.Reserved).SetOnInsert(l => l.Admission, admission).SetOnInsert(l => l.At, now.UtcDateTime)
            .SetOnInsert(l => l.ExpiresAt, now.UtcDateTime + options.Value.LedgerRetention);
        var upsert = new FindOneAndUpdateOptions<LedgerEntry> { IsUpsert = true, ReturnDocument = ReturnDocument.After };
        try
        {
            return await _ledger.FindOneAndUpdateAsync<LedgerEntry>(l => l.RequestId == entryId, update, upsert, cancellationToken);
        }
        catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
        {
            // Two instances recorded the same request at once: the loser reads the winner's entry.
            return await _ledger.FindOneAndUpdateAsync<LedgerEntry>(l => l.RequestId == entryId, update, upsert, cancellationToken);
        }
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

    /// <summary>
    /// Gives back a failed request's token reservation, once, charging what its failed calls did cost
    /// (<paramref name="spentTokens"/>: unusable answers are paid for). It may be admitted again, and reserves again then.
    /// </summary>
    public async Task ReleaseAsync(string userId, Guid requestId, CancellationToken cancellationToken, long spentTokens = 0)
    {
        var entryId = EntryId(userId, requestId);
        var entry = await _ledger.FindOneAndUpdateAsync(l => l.RequestId == entryId && l.State == LedgerEntry.Reserved,
            Builders<LedgerEntry>.Update.Set(l => l.State, LedgerEntry.Released).Inc(l => l.ActualTokens, spentTokens), cancellationToken: cancellationToken);
        if (entry is null)
            return;
        // The request itself stays counted (once, whatever its retries and replays); its token reservation goes back.
        await _usage.UpdateOneAsync(u => u.Id == entry.UsageId, Builders<UsageDocument>.Update
            .Inc(u => u.ReservedTokens, -entry.ReservedTokens).Inc(u => u.UsedTokens, spentTokens)
            .Inc(u => u.CommittedTokens, spentTokens - entry.ReservedTokens), cancellationToken: cancellationToken);
    }

    private static string SlotOf(string requestId) =>
        (BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requestId))) % RecentSlots).ToString(System.Globalization.CultureInfo.InvariantCulture);

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
