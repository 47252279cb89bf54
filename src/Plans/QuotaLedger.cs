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
/// and sent again in the same month is admitted with <c>countedInMonth</c> (its claim says so): it reserves again and
/// is not counted again. Admissions and settlements of one month document in flight at once share one update each
/// (<see cref="GroupCommit{TItem,TResult}"/>) that applies all of them or none.
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

    /// <summary>
    /// How long into a month an admission also looks for the request's reservation in the month before (one more read): a
    /// request admitted just before midnight (by a worker that then died or failed) and admitted again just after is counted once.
    /// </summary>
    public static readonly TimeSpan MonthOverlap = TimeSpan.FromHours(1);

    // The rate window each month document was last counted in here, so the admission's one update picks the right form
    // (same window: add one; a later one: start it at one). A wrong guess costs one more update; bounded by clearing.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _lastWindow = new(StringComparer.Ordinal);
    private const int RememberedWindows = 100_000;
    private const long NoWindow = -1;
    private const string IdField = "_id";

    /// <summary>
    /// How long this process may still send a settlement it deferred; older ones are left to the orphan sweep, which
    /// settles only answers stored more than <see cref="OrphanAge"/> ago. The gap between them means a settlement is sent
    /// by one of the two, never both, while the clocks of the instances agree within it; one whose send hangs past the gap
    /// finds the sweep's mark (<see cref="UsageDocument.ChargedApart"/>) and charges nothing more.
    /// </summary>
    public static readonly TimeSpan MaxOwedFor = TimeSpan.FromMinutes(5);

    /// <summary>How old a stored answer's settlement must be before the orphan sweep settles it (a worker died owing it).</summary>
    public static readonly TimeSpan OrphanAge = TimeSpan.FromMinutes(10);

    private readonly DeferredSettlements _deferred = new();
    private long _expiredDeferred;

    /// <summary>
    /// Admits the request under the plan's monthly limits and, when <paramref name="rate"/> is given, its rate; or says
    /// why not. <paramref name="countedInMonth"/>: the month an earlier attempt was counted in and gave its reservation
    /// back (the claim says); in that same month the request reserves again without being counted again.
    /// <paramref name="reportRemaining"/>: learn what the rate window has left after admitting, for a requester that waits
    /// for its answer (as the bridge's callers do), whose answer carries the <c>RateLimit</c> headers: the admission is then
    /// a findAndModify that returns the window, on its own rather than shared with the user's others, not one more read.
    /// <paramref name="claim"/>: the reservation also records the request's fingerprint and lease, which claims the
    /// requestId while it is in flight; a requestId in flight already is then not admitted but returned as
    /// <see cref="QuotaDecision.InFlight"/> (without a claim, its reservation is shared, as it stands).
    /// </summary>
    public async Task<QuotaDecision> AdmitAsync(Guid requestId, string userId, Plan plan, long estimatedTokens, CancellationToken cancellationToken,
        RateWindow? rate = null, string? countedInMonth = null, bool reportRemaining = false, RequestClaimTerms? claim = null)
    {
        var now = time.GetUtcNow();
        var month = UsageMonth.Of(now);
        var usageId = $"{userId}|{month}";
        var id = requestId.ToString("D");
        var resets = UsageMonth.ResetsAt(now);
        var window = rate?.At(now);
        var countedBefore = countedInMonth == month;
        var reservation = new QuotaReservation(usageId, requestId, estimatedTokens);
        // A request bigger than the whole month's tokens, or a month of no requests, admits nothing: the upsert below would
        // insert a fresh month whatever its filter says.
        if (plan.Limits.MonthlyTokens is { } monthTokens && estimatedTokens > monthTokens || plan.Limits.MonthlyRequests is 0 && !countedBefore)
            return new QuotaDecision(false, resets);
        if (!countedBefore && await OpenLastMonthAsync(userId, id, now, cancellationToken) is { } carried)
            return claim is null
                ? new QuotaDecision(true, resets, carried.Reservation)
                : new QuotaDecision(false, resets, InFlight: InFlightOf(carried.Reservation, carried.Open));

        var recentlyFinished = false;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            // A month document this instance has counted in exists (no insert race to allow for), and its window is known.
            var known = _lastWindow.TryGetValue(usageId, out var last);
            var sameWindow = window is { } w0 && known && last == w0.Index;
            // What the window counts once this admission applied, when its requester is told (the update returns it).
            var counted = 0;
            Action<int>? windowCount = rate is not null && reportRemaining ? n => counted = n : null;
            // The common form (a known month, its window, not counted before) shares its update with the user's others.
            var admitted = known && !countedBefore && (window is null || sameWindow) && windowCount is null
                ? await Admissions.SubmitAsync(usageId, new Admission(userId, month, plan, id, estimatedTokens, now, rate, window?.Index, claim), cancellationToken)
                : await TryAdmitAsync(usageId, userId, month, plan, id, estimatedTokens, now, rate, window?.Index, countedBefore, sameWindow, upsert: !known, claim,
                    cancellationToken, windowCount);
            if (admitted
                || window is not null && !sameWindow
                && await TryAdmitAsync(usageId, userId, month, plan, id, estimatedTokens, now, rate, window?.Index, countedBefore, sameWindow: true, upsert: false, claim,
                    cancellationToken, windowCount))
            {
                Remember(usageId, window?.Index ?? NoWindow);
                return new QuotaDecision(true, resets, reservation, RateOf(rate, window, now, counted), RecentlyFinished: recentlyFinished);
            }

            // Refused by its filter: the document as it is now says why.
            var current = await _usage.Find(u => u.Id == usageId).FirstOrDefaultAsync(cancellationToken);
            if (current is null)
                _lastWindow.TryRemove(usageId, out _);
            else
                Remember(usageId, current.RateWindow?.Index ?? NoWindow);
            // The document already counts a later window (the window turned since this admission began, or this
            // instance's clock is a little behind another's): counted in that one.
            if (rate is not null && current?.RateWindow is { } later && window is { } began && later.Index > began.Index)
                window = rate.Numbered(later.Index);
            var inWindow = current?.RateWindow is { } rw && window is { } w1 && rw.Index == w1.Index ? rw.Count : 0;
            if (current?.Open.GetValueOrDefault(id) is { } open)
                // Admitted before (a redelivery, a retry, a copy): in flight, for a claiming caller to wait for or take over;
                // otherwise its reservation stands.
                return claim is null
                    ? new QuotaDecision(true, resets, reservation with { Tokens = open.Tokens }, RateOf(rate, window, now, inWindow))
                    : new QuotaDecision(false, resets, Rate: RateOf(rate, window, now, inWindow), InFlight: InFlightOf(reservation with { Tokens = open.Tokens }, open));
            if (!countedBefore && current?.Recent.GetValueOrDefault(SlotOf(id))?.RequestId == id)
            {
                countedBefore = true;
                recentlyFinished = true;
                continue;
            }
            if (current is not null && rate is not null && window is { } w2 && inWindow >= rate.Limit)
                return new QuotaDecision(false, resets, Rate: new RateDecision(false, rate.Limit, 0, w2.End - now, rate.Length));
            if (current is not null && IsSpent(current, plan, estimatedTokens, countedBefore))
            {
                // Spent only by tokens that open reservations hold (requests in flight, or served ones whose settlement is
                // still owed): the month may have room once they settle, so this is the busy window's refusal (the bus
                // tries again a second later, HTTP says 429), not the month's.
                if (rate is not null && MayFitOnceSettled(current, plan, estimatedTokens, countedBefore))
                    return new QuotaDecision(false, resets, Rate: new RateDecision(false, rate.Limit, 0, TimeSpan.FromSeconds(1), rate.Length));
                return new QuotaDecision(false, resets, Rate: RateOf(rate, window, now, inWindow));
            }
            // The document changed between the two commands (a settlement made room, another instance began the window).
        }
        // Still changing under it after three tries: the busy window's refusal (the bus delays it, HTTP says 429), never
        // the month's.
        return rate is not null && window is { } busy
            ? new QuotaDecision(false, resets, Rate: new RateDecision(false, rate.Limit, 0, busy.End - now, rate.Length))
            : new QuotaDecision(false, resets);
    }

    // An admission in the common form; several of one month document go to MongoDB as one update (AdmitAllAsync).
    private sealed record Admission(string UserId, string Month, Plan Plan, string Id, long EstimatedTokens, DateTimeOffset Now, RateWindow? Rate, long? Window,
        RequestClaimTerms? Claim);

    private const int MaxAdmissionsPerUpdate = 64;

    private GroupCommit<Admission, bool>? _admissions;

    private GroupCommit<Admission, bool> Admissions =>
        LazyInitializer.EnsureInitialized(ref _admissions, () => new GroupCommit<Admission, bool>(AdmitAllAsync, MaxAdmissionsPerUpdate));

    /// <summary>
    /// Admits the requests of one month document that arrived while its last update was in flight, in one update that admits
    /// all of them or none. Its filter leaves room for all of them at once: requests under the limit less the others,
    /// committed tokens under it less all their estimates, the window's count likewise, and none of them open or recent
    /// (counted). So it admits only what they would have been admitted going one after the other. When it does not match
    /// (a limit near, or one of them admitted before), each goes alone and is judged by its own filter.
    /// </summary>
    private async Task AdmitAllAsync(string usageId, IReadOnlyList<GroupCommitEntry<Admission, bool>> batch)
    {
        var first = batch[0].Item;
        var alike = batch.All(e => e.Item.Window == first.Window && e.Item.Rate == first.Rate
            && e.Item.Plan.Limits.MonthlyRequests == first.Plan.Limits.MonthlyRequests && e.Item.Plan.Limits.MonthlyTokens == first.Plan.Limits.MonthlyTokens);
        if (batch.Count > 1 && alike && batch.Select(e => e.Item.Id).Distinct(StringComparer.Ordinal).Count() == batch.Count)
        {
            var others = batch.Count - 1;
            var estimated = batch.Sum(e => e.Item.EstimatedTokens);
            var owed = TakeOwed(usageId, batch.Select(e => e.Item.Id).ToHashSet(StringComparer.Ordinal));
            var (owedReserved, owedCharged) = (owed.Sum(o => o.Reservation.Tokens), owed.Sum(o => o.ChargedTokens));
            var f = Builders<UsageDocument>.Filter;
            var u = Builders<UsageDocument>.Update;
            var filter = f.Eq(IdField, usageId) & OwedFilter(owed);
            var updates = owed.Count > 0 ? OwedUpdates(owed, owedCharged).ToList() : [];
            foreach (var admission in batch.Select(e => e.Item))
            {
                filter &= f.Exists($"open.{admission.Id}", false);
                updates.Add(u.Set($"open.{admission.Id}", OpenOf(admission.EstimatedTokens, admission.Now, admission.Claim)));
            }
            // Each slot once, with every id of the batch that falls in it.
            foreach (var slot in batch.GroupBy(e => SlotOf(e.Item.Id), e => e.Item.Id))
                filter &= f.Nin($"recent.{slot.Key}.i", slot);
            if (first.Plan.Limits.MonthlyRequests is { } requests)
                filter &= f.Lt(UsageDocument.RequestsField, requests - others);
            if (first.Plan.Limits.MonthlyTokens is { } tokens)
                filter &= f.Lte(UsageDocument.CommittedTokensField, tokens - estimated - (owedCharged - owedReserved));
            updates.Add(u.Inc(UsageDocument.RequestsField, (long)batch.Count).Inc(UsageDocument.ReservedTokensField, estimated - owedReserved)
                .Inc(UsageDocument.CommittedTokensField, estimated + owedCharged - owedReserved));
            if (first.Rate is { } rate && first.Window is { } index)
            {
                filter &= f.Eq("rw.i", index) & f.Lt("rw.n", rate.Limit - others);
                updates.Add(u.Inc("rw.n", batch.Count));
            }
            if (await WithOwedAsync(owed, () => AllAppliedAsync(batch, filter, u.Combine(updates))))
                return;
        }
        await EachAloneAsync(batch, a => TryAdmitAsync(usageId, a.UserId, a.Month, a.Plan, a.Id, a.EstimatedTokens, a.Now, a.Rate, a.Window,
            countedBefore: false, sameWindow: true, upsert: false, a.Claim, CancellationToken.None));
    }

    /// <summary>One update for a whole group: true (and every caller answered) when its filter matched.</summary>
    private async Task<bool> AllAppliedAsync<TItem>(IReadOnlyList<GroupCommitEntry<TItem, bool>> batch, FilterDefinition<UsageDocument> filter,
        UpdateDefinition<UsageDocument> update)
    {
        if ((await _usage.UpdateOneAsync(filter, update)).MatchedCount != 1)
            return false;
        foreach (var entry in batch)
            entry.Complete(true);
        return true;
    }

    /// <summary>A group that could not go as one: each on its own, one after the other (one document), failing alone.</summary>
    private static async Task EachAloneAsync<TItem>(IReadOnlyList<GroupCommitEntry<TItem, bool>> batch, Func<TItem, Task<bool>> alone)
    {
        foreach (var entry in batch)
        {
            try
            {
                entry.Complete(await alone(entry.Item));
            }
            catch (Exception e)
            {
                entry.Fail(e);
            }
        }
    }

    private void Remember(string usageId, long window)
    {
        if (_lastWindow.Count >= RememberedWindows)
            _lastWindow.Clear();
        _lastWindow[usageId] = window;
    }

    /// <summary>In the first hour of a month: the request's reservation still open in the month before, if any.</summary>
    private async Task<(QuotaReservation Reservation, OpenReservation Open)?> OpenLastMonthAsync(string userId, string id, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var monthStart = UsageMonth.ResetsAt(now).AddMonths(-1);
        if (now - monthStart >= MonthOverlap)
            return null;
        var lastId = $"{userId}|{UsageMonth.Of(monthStart.AddTicks(-1))}";
        var last = await _usage.Find(u => u.Id == lastId).Project<UsageDocument>(new BsonDocument($"open.{id}", 1)).FirstOrDefaultAsync(cancellationToken);
        return last?.Open.GetValueOrDefault(id) is { } open ? (new QuotaReservation(lastId, Guid.Parse(id), open.Tokens), open) : null;
    }

    // The reservation an admission records; with a claim, also the request's fingerprint and its producer's lease.
    private static OpenReservation OpenOf(long estimatedTokens, DateTimeOffset now, RequestClaimTerms? claim) => new()
    {
        Tokens = estimatedTokens,
        At = now.UtcDateTime,
        Fingerprint = claim?.Fingerprint,
        Owner = claim?.Owner,
        LeaseUntil = claim is null ? null : (now + claim.Lease).UtcDateTime,
    };

    private static InFlightRequest InFlightOf(QuotaReservation reservation, OpenReservation open) =>
        new(reservation, open.Fingerprint, open.Owner, open.LeaseUntil);

    /// <summary>
    /// Takes (or renews) the lease on an admitted request for <paramref name="owner"/>: while its reservation is open with
    /// the same tokens, and its lease is <paramref name="owner"/>'s, nobody's, or run out. False when another holds it, or
    /// the request is finished (its reservation settled or given back).
    /// </summary>
    public async Task<bool> TryLeaseAsync(QuotaReservation reservation, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var id = reservation.RequestId.ToString("D");
        var f = Builders<UsageDocument>.Filter;
        var filter = f.Eq(IdField, reservation.UsageId) & f.Eq($"open.{id}.e", reservation.Tokens)
                     & (f.Eq($"open.{id}.o", owner) | f.Exists($"open.{id}.o", false) | f.Lte($"open.{id}.l", now));
        var result = await _usage.UpdateOneAsync(filter,
            Builders<UsageDocument>.Update.Set($"open.{id}.o", owner).Set($"open.{id}.l", now + lease), cancellationToken: cancellationToken);
        return result.MatchedCount == 1;
    }

    /// <summary>
    /// The admission's one conditional update: no reservation for the request yet, room under the month's limits and the
    /// rate window (<paramref name="sameWindow"/>: the document is counting this window already, else it starts it).
    /// <paramref name="windowCount"/>, when given, is told what the window counts once the update applied.
    /// </summary>
    private async Task<bool> TryAdmitAsync(string usageId, string userId, string month, Plan plan, string id, long estimatedTokens, DateTimeOffset now,
        RateWindow? rate, long? window, bool countedBefore, bool sameWindow, bool upsert, RequestClaimTerms? claim, CancellationToken cancellationToken,
        Action<int>? windowCount = null)
    {
        // A document this instance knows carries what this instance owes it (never one it may insert: it owes a new one nothing).
        var owed = upsert ? [] : TakeOwed(usageId, [id]);
        var f = Builders<UsageDocument>.Filter;
        var u = Builders<UsageDocument>.Update;
        var filter = f.Eq(IdField, usageId) & f.Exists($"open.{id}", false) & OwedFilter(owed);
        var (owedReserved, owedCharged) = (owed.Sum(o => o.Reservation.Tokens), owed.Sum(o => o.ChargedTokens));
        var updates = new List<UpdateDefinition<UsageDocument>>
        {
            u.Inc(UsageDocument.ReservedTokensField, estimatedTokens - owedReserved).Inc(UsageDocument.CommittedTokensField, estimatedTokens + owedCharged - owedReserved)
                .Set($"open.{id}", OpenOf(estimatedTokens, now, claim))
                .SetOnInsert(UsageDocument.UserIdField, userId).SetOnInsert(UsageDocument.MonthField, month).SetOnInsert(UsageDocument.PlanField, plan.Name),
        };
        if (owed.Count > 0)
            updates.AddRange(OwedUpdates(owed, owedCharged));
        if (!countedBefore)
        {
            // Counted once: not again while it is recent (a copy coming back after a crash between settling and storing).
            filter &= f.Ne($"recent.{SlotOf(id)}.i", id);
            if (plan.Limits.MonthlyRequests is { } requests)
                filter &= f.Lt(UsageDocument.RequestsField, requests);
            updates.Add(u.Inc(UsageDocument.RequestsField, 1L));
        }
        // Room for this estimate once what it carries is settled (the same update applies both).
        if (plan.Limits.MonthlyTokens is { } tokens)
            filter &= f.Lte(UsageDocument.CommittedTokensField, tokens - estimatedTokens - (owedCharged - owedReserved));
        // Every attempt that reserves counts against the rate, a resend of a failed request too.
        if (rate is not null && window is { } index)
        {
            if (sameWindow)
            {
                filter &= f.Eq("rw.i", index) & f.Lt("rw.n", rate.Limit);
                updates.Add(u.Inc("rw.n", 1));
            }
            else
            {
                filter &= f.Not(f.Gte("rw.i", index));
                updates.Add(u.Set(UsageDocument.RateWindowField, new RateWindowCount { Index = index, Count = 1 }));
            }
        }
        // Carrying settlements, it is not cancelled half way: whether they applied would be unknown.
        return await WithOwedAsync(owed, () => TryUpdateAsync(filter, u.Combine(updates), upsert, owed.Count > 0 ? CancellationToken.None : cancellationToken,
            windowCount));
    }

    /// <summary>
    /// Sends an update that carries <paramref name="owed"/>: refused (its filter, perhaps one of them ended elsewhere), they
    /// go on their own before the caller reads the document to learn why; not sent (an error), they are owed as before.
    /// </summary>
    private async Task<bool> WithOwedAsync(IReadOnlyList<DeferredSettlement> owed, Func<Task<bool>> update)
    {
        bool applied;
        try
        {
            applied = await update();
        }
        catch
        {
            _deferred.AddBack(owed);
            throw;
        }
        if (!applied && owed.Count > 0)
            await FinishOwedAsync(owed);
        return applied;
    }

    /// <summary>What this instance owes <paramref name="usageId"/> and may still send, unless one is of a request being admitted now.</summary>
    private IReadOnlyList<DeferredSettlement> TakeOwed(string usageId, IReadOnlyCollection<string> admitting)
    {
        var taken = Sendable(_deferred.TakeFor(usageId));
        // One that may have been applied already goes on its own, guarded (FinishOwedAsync), never inside an admission.
        var uncertain = taken.Where(o => o.Uncertain).ToList();
        if (uncertain.Count > 0)
            _deferred.Return(uncertain);
        var owed = taken.Where(o => !o.Uncertain).ToList();
        if (owed.Any(o => admitting.Contains(o.Reservation.RequestId.ToString("D"))))
        {
            // Its own open reservation is what refuses a second admission of it: never both in one update.
            _deferred.Return(owed);
            return [];
        }
        return owed;
    }

    /// <summary>Leaves out (and counts) settlements owed for longer than <see cref="MaxOwedFor"/>: the orphan sweep settles those.</summary>
    private List<DeferredSettlement> Sendable(IReadOnlyList<DeferredSettlement> owed)
    {
        var oldest = time.GetUtcNow() - MaxOwedFor;
        var sendable = owed.Where(o => o.DeferredAt >= oldest).ToList();
        Interlocked.Add(ref _expiredDeferred, owed.Count - sendable.Count);
        return sendable;
    }

    // Each owed reservation still open with its tokens, as its own settlement's filter holds it.
    private static FilterDefinition<UsageDocument> OwedFilter(IReadOnlyList<DeferredSettlement> owed) =>
        owed.Aggregate(Builders<UsageDocument>.Filter.Empty, (filter, o) => filter & StillOpen(o.Reservation));

    /// <summary>The reservation still open with its tokens and, when it names one, still under its owner's lease.</summary>
    private static FilterDefinition<UsageDocument> StillOpen(QuotaReservation reservation)
    {
        var f = Builders<UsageDocument>.Filter;
        var id = reservation.RequestId.ToString("D");
        var open = f.Eq($"open.{id}.e", reservation.Tokens);
        return reservation.Owner is { } owner ? open & f.Eq($"open.{id}.o", owner) : open;
    }

    // Each owed reservation ended and its request recent (the token counters are the caller's, summed with its own).
    private static IEnumerable<UpdateDefinition<UsageDocument>> OwedUpdates(IReadOnlyList<DeferredSettlement> owed, long charged)
    {
        var u = Builders<UsageDocument>.Update;
        foreach (var o in owed)
            yield return u.Unset($"open.{o.Reservation.RequestId:D}");
        foreach (var slot in owed.GroupBy(o => SlotOf(o.Reservation.RequestId.ToString("D"))))
            yield return u.Set($"recent.{slot.Key}", new RecentAdmission { RequestId = slot.Last().Reservation.RequestId.ToString("D") });
        yield return u.Inc(UsageDocument.UsedTokensField, charged);
    }

    /// <summary>
    /// The conditional update; false when its filter refused it. With <paramref name="upsert"/> (a month this instance
    /// has not seen yet), twice: the first try of a fresh month can lose the insert race to another instance's first request; the second then finds the month and is judged by the filter. A duplicate
    /// key the second time means the filter refused it.
    /// </summary>
    private async Task<bool> TryUpdateAsync(FilterDefinition<UsageDocument> filter, UpdateDefinition<UsageDocument> update, bool upsert,
        CancellationToken cancellationToken, Action<int>? windowCount = null)
    {
        // A document known to exist: one plain update says it all.
        if (!upsert)
            return await ApplyAsync();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ApplyAsync();
            }
            catch (Exception e) when (MongoErrors.IsDuplicateKey(e) && attempt >= 2)
            {
                return false;
            }
            catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
            {
            }
        }

        // One conditional update: what the filter checks and what the update changes are one atomic step. Admitted only if
        // the server says it matched or inserted, never on the absence of an error alone. Asked for the window's count, a
        // findAndModify returns it (the document as updated, that field only; none when the filter refused it).
        async Task<bool> ApplyAsync()
        {
            if (windowCount is null)
            {
                var result = await _usage.UpdateOneAsync(filter, update, new UpdateOptions { IsUpsert = upsert }, cancellationToken);
                return result.MatchedCount == 1 || result.UpsertedId is not null;
            }
            var updated = await _usage.FindOneAndUpdateAsync(filter, update, new FindOneAndUpdateOptions<UsageDocument>
            {
                IsUpsert = upsert,
                ReturnDocument = ReturnDocument.After,
                Projection = Builders<UsageDocument>.Projection.Include(UsageDocument.RateWindowField),
            }, cancellationToken);
            if (updated is null)
                return false;
            windowCount(updated.RateWindow?.Count ?? 0);
            return true;
        }
    }

    private static bool MayFitOnceSettled(UsageDocument usage, Plan plan, long estimatedTokens, bool countedBefore) =>
        usage.ReservedTokens > 0 && plan.Limits.MonthlyTokens is { } tokens && usage.UsedTokens <= tokens - estimatedTokens
        && !(!countedBefore && plan.Limits.MonthlyRequests is { } requests && usage.Requests >= requests);

    private static bool IsSpent(UsageDocument usage, Plan plan, long estimatedTokens, bool countedBefore) =>
        !countedBefore && plan.Limits.MonthlyRequests is { } requests && usage.Requests >= requests
        || plan.Limits.MonthlyTokens is { } tokens && usage.CommittedTokens > tokens - estimatedTokens;

    private static RateDecision? RateOf(RateWindow? rate, (long Index, DateTimeOffset End)? window, DateTimeOffset now, int counted) =>
        rate is null || window is not { } w ? null : new RateDecision(true, rate.Limit, Math.Max(0, rate.Limit - counted), w.End - now, rate.Length);

    /// <summary>
    /// Owes the request's settlement (its answer is stored, carrying <paramref name="chargedTokens"/>): the next admission
    /// into the same usage document carries it in its one update; <see cref="SettleDeferredAsync"/> sends what waited
    /// longer. Until then the reservation stands, as if the request were still in flight.
    /// </summary>
    public void SettleLater(QuotaReservation reservation, long chargedTokens) =>
        _deferred.Add(new DeferredSettlement(reservation, chargedTokens, time.GetUtcNow()));

    /// <summary>How many settlements this instance owes now.</summary>
    public int DeferredCount => _deferred.Count;

    /// <summary>How many owed settlements this instance gave up on so far (owed longer than <see cref="MaxOwedFor"/>: the orphan sweep's).</summary>
    public long ExpiredDeferredCount => Interlocked.Read(ref _expiredDeferred);

    /// <summary>Sends the settlements deferred at or before <paramref name="deferredBy"/> (every one with <see cref="DateTimeOffset.MaxValue"/>).</summary>
    public Task SettleDeferredAsync(DateTimeOffset deferredBy) => FinishOwedAsync(Sendable(_deferred.TakeDue(deferredBy)));

    /// <summary>Owed settlements, each on its own (several of one document share an update); those not sent are owed again.</summary>
    private async Task FinishOwedAsync(IReadOnlyList<DeferredSettlement> owed)
    {
        var notSent = new System.Collections.Concurrent.ConcurrentQueue<(DeferredSettlement Settlement, Exception Error)>();
        await Task.WhenAll(owed.Select(async o =>
        {
            try
            {
                // Uncertain (an earlier send may have applied it): only where it is still open, never charged a second time.
                if (o.Uncertain)
                    await SettleIfOpenAsync(o.Reservation, o.ChargedTokens, CancellationToken.None);
                else
                    await FinishAsync(o.Reservation, o.ChargedTokens, CancellationToken.None, owedForStoredAnswer: true);
            }
            catch (Exception e)
            {
                notSent.Enqueue((o, e));
            }
        }));
        if (notSent.IsEmpty)
            return;
        _deferred.AddBack(notSent.Select(n => n.Settlement));
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(notSent.First().Error);
    }

    /// <summary>
    /// Ends a reservation a worker died owing (<see cref="OrphanAge"/>), with the charge its stored answer carries, if it is
    /// still open with those tokens: the tokens charged now (0 when that charge was made apart already), or null when it
    /// was ended already (by the worker that owed it, or another sweep).
    /// </summary>
    /// <remarks>
    /// The charge is marked (<see cref="UsageDocument.ChargedApart"/>) in the same update: should the worker only have been
    /// stuck, its settlement, sent late, finds it and charges nothing more. A charge the storing worker made on its own
    /// already (another delivery had taken the lease, then died holding it) is found the same way: the reservation then
    /// ends charging nothing.
    /// </remarks>
    public async Task<long?> SettleOrphanAsync(QuotaReservation reservation, long chargedTokens, CancellationToken cancellationToken)
    {
        var mark = ChargedApartMark(reservation);
        var f = Builders<UsageDocument>.Filter;
        if (await EndIfOpenAsync(reservation, chargedTokens, f.Exists(mark, false), cancellationToken, Builders<UsageDocument>.Update.Set(mark, chargedTokens)))
            return chargedTokens;
        // Charged apart already: ended without charging, and the mark, its work done, goes.
        return await EndIfOpenAsync(reservation, 0, f.Exists(mark), cancellationToken, Builders<UsageDocument>.Update.Unset(mark)) ? 0 : null;
    }

    /// <summary>Ends the reservation charging <paramref name="chargedTokens"/> only if it is still open (and its owner's); false, and no charge, otherwise.</summary>
    private Task<bool> SettleIfOpenAsync(QuotaReservation reservation, long chargedTokens, CancellationToken cancellationToken) =>
        EndIfOpenAsync(reservation, chargedTokens, Builders<UsageDocument>.Filter.Empty, cancellationToken);

    // The reservation ended, charging chargedTokens, if it is still open (and its owner's) and the document matches also.
    private async Task<bool> EndIfOpenAsync(QuotaReservation reservation, long chargedTokens, FilterDefinition<UsageDocument> also,
        CancellationToken cancellationToken, UpdateDefinition<UsageDocument>? alsoSet = null)
    {
        var id = reservation.RequestId.ToString("D");
        var f = Builders<UsageDocument>.Filter;
        var u = Builders<UsageDocument>.Update;
        var update = u.Unset($"open.{id}").Set($"recent.{SlotOf(id)}", new RecentAdmission { RequestId = id })
            .Inc(UsageDocument.ReservedTokensField, -reservation.Tokens).Inc(UsageDocument.UsedTokensField, chargedTokens)
            .Inc(UsageDocument.CommittedTokensField, chargedTokens - reservation.Tokens);
        var result = await _usage.UpdateOneAsync(f.Eq(IdField, reservation.UsageId) & StillOpen(reservation) & also,
            alsoSet is null ? update : u.Combine(update, alsoSet), cancellationToken: cancellationToken);
        return result.MatchedCount == 1;
    }

    /// <summary>
    /// The reservations of <paramref name="months"/> open since before <paramref name="openedBefore"/>: requests still in
    /// flight, or served by a worker that died owing their settlement (the orphan sweep tells them apart by the stored answer).
    /// </summary>
    public async Task<IReadOnlyList<QuotaReservation>> FindOpenSinceAsync(IReadOnlyCollection<string> months, DateTimeOffset openedBefore,
        CancellationToken cancellationToken)
    {
        var f = Builders<UsageDocument>.Filter;
        var documents = await _usage.Find(f.In(UsageDocument.MonthField, months) & f.Gt(UsageDocument.ReservedTokensField, 0L))
            .Project<UsageDocument>(Builders<UsageDocument>.Projection.Include("open")).ToListAsync(cancellationToken);
        return documents.SelectMany(d => d.Open.Where(o => o.Value.At < openedBefore.UtcDateTime)
            .Select(o => new QuotaReservation(d.Id, Guid.Parse(o.Key), o.Value.Tokens))).ToList();
    }

    /// <summary>
    /// Replaces the reservation by the request's actual tokens, once. <paramref name="answerMayBeStored"/>: the call's
    /// answer may be stored with this charge (an insert that failed may still have been written), so the orphan sweep
    /// may charge it too: charged apart from the reservation's end, it is marked as a deferred settlement is.
    /// </summary>
    public Task SettleAsync(QuotaReservation reservation, long actualTokens, CancellationToken cancellationToken, bool answerMayBeStored = false) =>
        FinishAsync(reservation, actualTokens, cancellationToken, owedForStoredAnswer: answerMayBeStored);

    /// <summary>
    /// Gives back a failed request's reservation, once, charging what its failed calls did cost
    /// (<paramref name="spentTokens"/>: unusable answers are paid for). The request itself stays counted.
    /// </summary>
    public Task ReleaseAsync(QuotaReservation reservation, CancellationToken cancellationToken, long spentTokens = 0) =>
        FinishAsync(reservation, spentTokens, cancellationToken);

    // A settlement or give-back; several of one user's month go to MongoDB as one update (FinishAllAsync).
    // OwedForStoredAnswer: the charge of an answer stored (or maybe stored) with it, which the orphan sweep may charge too.
    private sealed record Finish(QuotaReservation Reservation, long ChargedTokens, bool OwedForStoredAnswer);

    private const int MaxFinishesPerUpdate = 64;

    private GroupCommit<Finish, bool>? _finishes;

    // Built on first use: a field initializer cannot reach the instance's collection. One instance is ever published.
    private GroupCommit<Finish, bool> Finishes =>
        LazyInitializer.EnsureInitialized(ref _finishes, () => new GroupCommit<Finish, bool>(FinishAllAsync, MaxFinishesPerUpdate));

    private Task FinishAsync(QuotaReservation reservation, long chargedTokens, CancellationToken cancellationToken, bool owedForStoredAnswer = false) =>
        Finishes.SubmitAsync(reservation.UsageId, new Finish(reservation, chargedTokens, owedForStoredAnswer)).WaitAsync(cancellationToken);

    /// <summary>
    /// Ends the reservations of one month document that arrived while its last update was in flight, in one update that
    /// applies all of them or none: its filter holds every one of them open, as each one's own update would. When one was
    /// ended already by another holder, each goes on its own (<see cref="FinishOneAsync"/>), which still charges its call.
    /// </summary>
    private async Task FinishAllAsync(string usageId, IReadOnlyList<GroupCommitEntry<Finish, bool>> batch)
    {
        var ids = batch.Select(e => e.Item.Reservation.RequestId).ToHashSet();
        if (batch.Count > 1 && ids.Count == batch.Count)
        {
            var f = Builders<UsageDocument>.Filter;
            var u = Builders<UsageDocument>.Update;
            var filter = f.Eq(IdField, usageId);
            var updates = new List<UpdateDefinition<UsageDocument>>();
            // Two of a batch in one recent slot: the later is what the slot holds, as if they had gone one after the other.
            var slots = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var reservation in batch.Select(e => e.Item.Reservation))
            {
                var id = reservation.RequestId.ToString("D");
                filter &= StillOpen(reservation);
                updates.Add(u.Unset($"open.{id}"));
                slots[SlotOf(id)] = id;
            }
            updates.AddRange(slots.Select(s => u.Set($"recent.{s.Key}", new RecentAdmission { RequestId = s.Value })));
            var reserved = batch.Sum(e => e.Item.Reservation.Tokens);
            var charged = batch.Sum(e => e.Item.ChargedTokens);
            updates.Add(u.Inc(UsageDocument.ReservedTokensField, -reserved).Inc(UsageDocument.UsedTokensField, charged).Inc(UsageDocument.CommittedTokensField, charged - reserved));
            if (await AllAppliedAsync(batch, filter, u.Combine(updates)))
                return;
        }
        await EachAloneAsync(batch, async finish =>
        {
            await FinishOneAsync(finish);
            return true;
        });
    }

    private async Task FinishOneAsync(Finish finish)
    {
        var (reservation, chargedTokens, owedForStoredAnswer) = finish;
        if (await SettleIfOpenAsync(reservation, chargedTokens, CancellationToken.None) || chargedTokens <= 0)
            return;
        // The reservation was already ended by another holder of it (a worker that lost its lease while stalled, then gave
        // it back; a settlement applied though its reply was lost), or is held by another: what this call used is still
        // charged. A stored answer's charge is marked, once: the orphan sweep may end the same reservation from it (this
        // settlement stuck past Settlement's five minutes, or the delivery holding the lease dead), and only one may charge it.
        var f = Builders<UsageDocument>.Filter;
        var u = Builders<UsageDocument>.Update;
        var mark = ChargedApartMark(reservation);
        var charge = u.Inc(x => x.UsedTokens, chargedTokens).Inc(x => x.CommittedTokens, chargedTokens);
        if (!owedForStoredAnswer)
        {
            await _usage.UpdateOneAsync(f.Eq(IdField, reservation.UsageId), charge);
            return;
        }
        var result = await _usage.UpdateOneAsync(f.Eq(IdField, reservation.UsageId) & f.Exists(mark, false), charge.Set(mark, chargedTokens));
        // The sweep charged it already: nothing more, and its mark, its work done, goes (a mark stays only where the
        // other party never comes: a worker that died owing its settlement).
        if (result.MatchedCount == 0)
            await _usage.UpdateOneAsync(f.Eq(IdField, reservation.UsageId) & f.Exists(mark), u.Unset(mark));
    }

    // Where a stored answer's charge made apart from its reservation's end is marked (UsageDocument.ChargedApart).
    private static string ChargedApartMark(QuotaReservation reservation) => $"{UsageDocument.ChargedApartField}.{reservation.RequestId:D}";

    private static string SlotOf(string requestId) =>
        (BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requestId))) % RecentSlots).ToString(CultureInfo.InvariantCulture);

    /// <summary>The user's usage in a month; an empty one when there is none.</summary>
    /// <remarks>What this instance owes the document is sent first, so it reads its own settlements.</remarks>
    public async Task<UsageDocument> GetAsync(string userId, string month, CancellationToken cancellationToken)
    {
        var id = $"{userId}|{month}";
        await FinishOwedAsync(Sendable(_deferred.TakeFor(id)));
        return await _usage.Find(u => u.Id == id).FirstOrDefaultAsync(cancellationToken)
               ?? new UsageDocument { Id = id, UserId = userId, Month = month };
    }

    /// <summary>Every user's usage in a month.</summary>
    /// <remarks>What this instance owes is sent first, so it reads its own settlements.</remarks>
    public async Task<IReadOnlyList<UsageDocument>> ListAsync(string month, CancellationToken cancellationToken)
    {
        await SettleDeferredAsync(DateTimeOffset.MaxValue);
        return await _usage.Find(u => u.Month == month).SortBy(u => u.UserId).ToListAsync(cancellationToken);
    }
}
