using System.Globalization;
using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>
/// Exact monthly quotas and request rates shared by every instance, in one document per user and month
/// (<see cref="UsageDocument"/>). Admitting a request is one conditional update: under the rate and the month's limits,
/// and only if the request holds no reservation yet, it is counted, its estimated tokens reserved, and the reservation
/// recorded under its requestId. Settling it (actual tokens) or giving it back (a failure) is one more, guarded by that
/// reservation, so it happens once. A redelivery finds its reservation and is not counted again; a request given back
/// and sent again is admitted with <c>countedBefore</c> (its claim says so): it reserves again and is not counted again.
/// </summary>
public sealed class QuotaLedger(VocabDatabase database, TimeProvider time)
{
    public const string UsageCollection = "usage_months";

    private readonly IMongoCollection<UsageDocument> _usage = database.Collection<UsageDocument>(UsageCollection);

    /// <summary>
    /// Slots of recently finished requests in a usage document (a request's slot is a hash of its id). They cover one
    /// moment: a worker dying after settling a request and before storing its answer. Its redelivery, found in its slot,
    /// reserves again without being counted again. The one inexact case: that crash, and another request of the same user
    /// finished in the same slot before the redelivery, counts the request twice (1 in this many such crashes at worst).
    /// </summary>
    public const int RecentSlots = 256;

    /// <summary>Rate windows before the current one that each admission prunes from the document.</summary>
    private const int PrunedWindows = 3;

    /// <summary>
    /// Admits the request under the plan's monthly limits and, when <paramref name="rate"/> is given, its rate; or says
    /// why not. <paramref name="countedBefore"/>: an earlier attempt was counted and gave its reservation back.
    /// <paramref name="reportRemaining"/>: read what the rate window has left after admitting (one more read; the bridge
    /// shows it in its headers, the worker does not need it).
    /// </summary>
    public async Task<QuotaDecision> AdmitAsync(Guid requestId, string userId, Plan plan, long estimatedTokens, CancellationToken cancellationToken,
        RateWindow? rate = null, bool countedBefore = false, bool reportRemaining = false)
    {
        var now = time.GetUtcNow();
        var month = UsageMonth.Of(now);
        var usageId = $"{userId}|{month}";
        var id = requestId.ToString("D");
        var resets = UsageMonth.ResetsAt(now);
        var window = rate?.At(now);
        var reservation = new QuotaReservation(usageId, requestId, estimatedTokens);
        // A request bigger than the whole month's tokens, or a month of no requests, admits nothing: the upsert below would
        // insert a fresh month whatever its filter says.
        if (plan.Limits.MonthlyTokens is { } monthTokens && estimatedTokens > monthTokens || plan.Limits.MonthlyRequests is 0 && !countedBefore)
            return new QuotaDecision(false, resets);

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var filter = Filter(usageId, id, plan, estimatedTokens, countedBefore ? null : rate, window?.Index, count: !countedBefore);
            var update = Update(userId, month, plan, id, estimatedTokens, now, window?.Index, count: !countedBefore);
            if (await TryUpdateAsync(filter, update, cancellationToken))
            {
                var counted = rate is not null && reportRemaining
                    ? (await _usage.Find(u => u.Id == usageId).Project<UsageDocument>(new BsonDocument($"rate.{Key(window?.Index)}", 1))
                        .FirstOrDefaultAsync(cancellationToken))?.Rate.GetValueOrDefault(Key(window?.Index)) ?? 0
                    : 0;
                return new QuotaDecision(true, resets, reservation, RateOf(rate, window, now, counted));
            }

            // Refused by its filter: the document as it is now says why.
            var current = await _usage.Find(u => u.Id == usageId).FirstOrDefaultAsync(cancellationToken);
            if (current?.Open.GetValueOrDefault(id) is { } open)
                // Admitted before (a redelivery, or the bridge before the worker): its reservation stands.
                return new QuotaDecision(true, resets, reservation with { Tokens = open.Tokens },
                    RateOf(rate, window, now, current.Rate.GetValueOrDefault(Key(window?.Index))));
            if (!countedBefore && current?.Recent.GetValueOrDefault(SlotOf(id))?.RequestId == id)
            {
                countedBefore = true;
                continue;
            }
            if (current is not null && rate is not null && window is { } w && !countedBefore && current.Rate.GetValueOrDefault(Key(w.Index)) >= rate.Limit)
                return new QuotaDecision(false, resets, Rate: new RateDecision(false, rate.Limit, 0, w.End - now, rate.Length));
            if (current is not null && IsSpent(current, plan, estimatedTokens, countedBefore))
                return new QuotaDecision(false, resets, Rate: RateOf(rate, window, now, current.Rate.GetValueOrDefault(Key(window?.Index))));
            // The document changed between the two commands (a settlement made room): judged again.
        }
        return new QuotaDecision(false, resets);
    }

    private static FilterDefinition<UsageDocument> Filter(string usageId, string id, Plan plan, long estimatedTokens, RateWindow? rate, long? window, bool count)
    {
        var f = Builders<UsageDocument>.Filter;
        var filter = f.Eq(u => u.Id, usageId) & f.Exists($"open.{id}", false);
        if (count)
        {
            filter &= f.Ne($"recent.{SlotOf(id)}.i", id);
            if (plan.Limits.MonthlyRequests is { } requests)
                filter &= f.Lt(u => u.Requests, requests);
        }
        if (plan.Limits.MonthlyTokens is { } tokens)
            filter &= f.Lte(u => u.CommittedTokens, tokens - estimatedTokens);
        if (rate is not null && window is { } index)
            filter &= f.Not(f.Gte($"rate.{Key(index)}", rate.Limit));
        return filter;
    }

    private static UpdateDefinition<UsageDocument> Update(string userId, string month, Plan plan, string id, long estimatedTokens, DateTimeOffset now,
        long? window, bool count)
    {
        var update = Builders<UsageDocument>.Update
            .Inc(u => u.ReservedTokens, estimatedTokens).Inc(u => u.CommittedTokens, estimatedTokens)
            .Set($"open.{id}", new OpenReservation { Tokens = estimatedTokens, At = now.UtcDateTime })
            .SetOnInsert(u => u.UserId, userId).SetOnInsert(u => u.Month, month).SetOnInsert(u => u.Plan, plan.Name);
        if (!count)
            return update;
        update = update.Inc(u => u.Requests, 1);
        if (window is { } index)
        {
            update = update.Inc($"rate.{Key(index)}", 1);
            for (var back = 1; back <= PrunedWindows; back++)
                update = update.Unset($"rate.{Key(index - back)}");
        }
        return update;
    }

    /// <summary>
    /// The conditional update; false when its filter refused it. Twice: the first try of a fresh month can lose the insert
    /// race to another instance's first request; the second then finds the month and is judged by the filter. A duplicate
    /// key the second time means the filter refused it.
    /// </summary>
    private async Task<bool> TryUpdateAsync(FilterDefinition<UsageDocument> filter, UpdateDefinition<UsageDocument> update, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // An update, not findAndModify: what the filter checks and what the update changes are one atomic step.
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

    private static bool IsSpent(UsageDocument usage, Plan plan, long estimatedTokens, bool countedBefore) =>
        !countedBefore && plan.Limits.MonthlyRequests is { } requests && usage.Requests >= requests
        || plan.Limits.MonthlyTokens is { } tokens && usage.CommittedTokens > tokens - estimatedTokens;

    private static RateDecision? RateOf(RateWindow? rate, (long Index, DateTimeOffset End)? window, DateTimeOffset now, int counted) =>
        rate is null || window is not { } w ? null : new RateDecision(true, rate.Limit, Math.Max(0, rate.Limit - counted), w.End - now, rate.Length);

    /// <summary>Replaces the reservation by the request's actual tokens, once.</summary>
    public Task SettleAsync(QuotaReservation reservation, long actualTokens, CancellationToken cancellationToken) =>
        FinishAsync(reservation, actualTokens, cancellationToken);

    /// <summary>
    /// Gives back a failed request's reservation, once, charging what its failed calls did cost
    /// (<paramref name="spentTokens"/>: unusable answers are paid for). The request itself stays counted.
    /// </summary>
    public Task ReleaseAsync(QuotaReservation reservation, CancellationToken cancellationToken, long spentTokens = 0) =>
        FinishAsync(reservation, spentTokens, cancellationToken);

    private async Task FinishAsync(QuotaReservation reservation, long chargedTokens, CancellationToken cancellationToken)
    {
        var id = reservation.RequestId.ToString("D");
        var f = Builders<UsageDocument>.Filter;
        await _usage.UpdateOneAsync(f.Eq(u => u.Id, reservation.UsageId) & f.Eq($"open.{id}.e", reservation.Tokens),
            Builders<UsageDocument>.Update
                .Unset($"open.{id}")
                .Set($"recent.{SlotOf(id)}", new RecentAdmission { RequestId = id })
                .Inc(u => u.ReservedTokens, -reservation.Tokens).Inc(u => u.UsedTokens, chargedTokens)
                .Inc(u => u.CommittedTokens, chargedTokens - reservation.Tokens),
            cancellationToken: cancellationToken);
    }

    private static string Key(long? window) => window?.ToString(CultureInfo.InvariantCulture) ?? "none";

    private static string SlotOf(string requestId) =>
        (BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requestId))) % RecentSlots).ToString(CultureInfo.InvariantCulture);

    /// <summary>The user's usage in a month; an empty one when there is none.</summary>
    public async Task<UsageDocument> GetAsync(string userId, string month, CancellationToken cancellationToken) =>
        await _usage.Find(u => u.Id == $"{userId}|{month}").FirstOrDefaultAsync(cancellationToken)
        ?? new UsageDocument { Id = $"{userId}|{month}", UserId = userId, Month = month };

    /// <summary>Every user's usage in a month.</summary>
    public async Task<IReadOnlyList<UsageDocument>> ListAsync(string month, CancellationToken cancellationToken) =>
        await _usage.Find(u => u.Month == month).SortBy(u => u.UserId).ToListAsync(cancellationToken);
}
