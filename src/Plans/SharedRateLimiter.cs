using Microsoft.Extensions.Options;
using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>
/// Per-user request rate shared by every instance: a fixed window in MongoDB holding the admitted requestIds, grown by one
/// conditional atomic update. A request already counted in the window (the bridge, then the worker; a redelivery) passes
/// without counting again.
/// </summary>
public sealed class SharedRateLimiter(VocabDatabase database, IOptions<RateLimitOptions> options, TimeProvider time)
{
    public const string CollectionName = "rate_windows";

    private readonly IMongoCollection<RateWindowDocument> _windows = database.Collection<RateWindowDocument>(CollectionName);

    public async Task<RateDecision> CheckAsync(Guid requestId, string userId, int limit, CancellationToken cancellationToken)
    {
        var window = options.Value.Window;
        var now = time.GetUtcNow();
        var index = now.ToUnixTimeMilliseconds() / (long)window.TotalMilliseconds;
        var end = DateTimeOffset.FromUnixTimeMilliseconds((index + 1) * (long)window.TotalMilliseconds);
        var id = $"{userId}|{index}";
        var request = requestId.ToString("D");
        var f = Builders<RateWindowDocument>.Filter;
        var filter = f.Eq(w => w.Id, id) & f.Ne("ids", request) & f.Exists($"ids.{limit - 1}", false);
        var update = Builders<RateWindowDocument>.Update.AddToSet(w => w.RequestIds, request).SetOnInsert(w => w.ExpiresAt, end.UtcDateTime.AddMinutes(1));
        // Twice: the first request of a window can lose the insert race to another instance's; the second try then finds
        // the window and is judged by the filter.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var after = await _windows.FindOneAndUpdateAsync(filter, update,
                    new FindOneAndUpdateOptions<RateWindowDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After }, cancellationToken);
                return new RateDecision(true, limit, Math.Max(0, limit - (after?.RequestIds.Count ?? 1)), end - now, window);
            }
            catch (Exception e) when (MongoErrors.IsDuplicateKey(e) && attempt < 2)
            {
            }
            catch (Exception e) when (MongoErrors.IsDuplicateKey(e))
            {
                var current = await _windows.Find(w => w.Id == id).FirstOrDefaultAsync(cancellationToken);
                var counted = current?.RequestIds.Contains(request) == true;
                return new RateDecision(counted, limit, 0, end - now, window);
            }
        }
    }
}
