using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Vocab.Authentication;

/// <summary>
/// Caches credential lookups (hits and misses) for <see cref="AuthenticationOptions.CacheDuration"/>:
/// the stated bound on how long a revoked key or jti keeps working.
/// </summary>
public sealed class LookupCache(IMemoryCache cache, IOptions<AuthenticationOptions> options)
{
    private readonly TimeSpan _duration = options.Value.CacheDuration;

    /// <summary>The cached value of <paramref name="key"/>, loading and caching it when absent or stale.</summary>
    public async ValueTask<T> GetOrLoadAsync<T>(object key, Func<CancellationToken, Task<T>> load, CancellationToken cancellationToken)
    {
        if (_duration <= TimeSpan.Zero)
            return await load(cancellationToken);
        if (cache.TryGetValue(key, out T? cached))
            return cached!;
        var value = await load(cancellationToken);
        cache.Set(key, value, _duration);
        return value;
    }
}
