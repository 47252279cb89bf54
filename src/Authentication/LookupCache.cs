using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Vocab.Storage;

namespace Vocab.Authentication;

/// <summary>
/// Caches credential lookups (hits and misses) for <see cref="AuthenticationOptions.CacheDuration"/>, the stated bound on
/// how long a revoked key or jti keeps working. It holds at most <see cref="AuthenticationOptions.CacheEntryLimit"/>
/// entries, keyed by a SHA-256 digest (never a raw credential), and concurrent lookups of one key share one load.
/// </summary>
public sealed class LookupCache : IDisposable
{
    private readonly TimeSpan _duration;
    private readonly MemoryCache _cache;
    private readonly SingleFlight<object?> _loading = new();

    /// <summary>A cache of its own: its size limit must not apply to other users of <see cref="IMemoryCache"/>.</summary>
    public LookupCache(IOptions<AuthenticationOptions> options)
    {
        _duration = options.Value.CacheDuration;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.CacheEntryLimit, CompactionPercentage = 0.25 });
    }

    private long _hits;
    private long _loads;

    /// <summary>How many entries are held now.</summary>
    public int Count => _cache.Count;

    /// <summary>Lookups answered from the cache since start.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that went to the store (MongoDB or the signature check) since start, shared ones counted once.</summary>
    public long Loads => Interlocked.Read(ref _loads);

    /// <summary>The cached value for (<paramref name="kind"/>, <paramref name="key"/>), loading it once when absent or stale.</summary>
    public async ValueTask<T> GetOrLoadAsync<T>(string kind, string key, Func<CancellationToken, Task<T>> load, CancellationToken cancellationToken)
    {
        if (_duration <= TimeSpan.Zero)
            return await load(cancellationToken);
        var digest = Digest(kind, key);
        if (_cache.TryGetValue(digest, out T? cached))
        {
            Interlocked.Increment(ref _hits);
            return cached!;
        }

        var (shared, _) = _loading.Join(digest, () => LoadAndCacheAsync(digest, load));
        // One caller giving up must not cancel the load the others wait for.
        return (T)(await shared.WaitAsync(cancellationToken))!;
    }

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();

    private async Task<object?> LoadAndCacheAsync<T>(string digest, Func<CancellationToken, Task<T>> load)
    {
        Interlocked.Increment(ref _loads);
        try
        {
            var value = await load(CancellationToken.None);
            // Over the limit the entry is simply not kept: a flood of junk costs lookups, never memory.
            _cache.Set(digest, value, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = _duration });
            return value;
        }
        finally
        {
            _loading.Land(digest);
        }
    }

    private static string Digest(string kind, string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(kind + "\n" + key), hash);
        return Convert.ToBase64String(hash);
    }
}
