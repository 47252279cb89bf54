using MongoDB.Driver;
using Vocab.Storage;

namespace Vocab.Failures;

/// <summary>The <c>audit</c> collection: appended by every ops action, read newest first.</summary>
public sealed class AuditLog(VocabDatabase database, TimeProvider time)
{
    public const string CollectionName = "audit";

    private const int MaxDetailLength = 2000;

    public IMongoCollection<AuditEntry> Collection { get; } = database.Collection<AuditEntry>(CollectionName);

    /// <summary>Records an action now.</summary>
    public Task WriteAsync(string by, string action, long count, string detail, CancellationToken cancellationToken) =>
        Collection.InsertOneAsync(new AuditEntry
        {
            At = time.GetUtcNow().UtcDateTime, By = by, Action = action, Count = count,
            Detail = detail.Length > MaxDetailLength ? detail[..MaxDetailLength] + "…" : detail,
        }, cancellationToken: cancellationToken);

    /// <summary>The latest entries.</summary>
    public async Task<IReadOnlyList<AuditEntry>> LatestAsync(int limit, CancellationToken cancellationToken) =>
        await Collection.Find(FilterDefinition<AuditEntry>.Empty).SortByDescending(a => a.At).Limit(limit).ToListAsync(cancellationToken);
}
