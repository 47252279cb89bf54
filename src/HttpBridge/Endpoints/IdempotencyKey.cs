using System.Security.Cryptography;
using System.Text;

namespace Vocab.HttpBridge.Endpoints;

/// <summary>
/// The <c>Idempotency-Key</c> header (IETF httpapi draft): a caller's own key for one request, turned into the bus
/// requestId. Scoped to the caller, so two callers choosing the same key never collide. With <c>Bridge:IdempotencySecret</c>
/// the id is an HMAC under it, so nobody else can compute it: without, a bus publisher that knows a caller's user id and
/// key could claim that requestId first, and the caller would be told it is reused.
/// </summary>
public static class IdempotencyKey
{
    public const string HeaderName = "Idempotency-Key";

    /// <summary>The longest key accepted.</summary>
    public const int MaxLength = 255;

    /// <summary>
    /// The requestId for the caller's key (keyed by <paramref name="secret"/> when there is one); a fresh one when the
    /// caller sent none; null when the key is unusable.
    /// </summary>
    public static Guid? RequestIdFor(string userId, string? key, byte[]? secret = null)
    {
        if (key is null)
            return Guid.NewGuid();
        if (key.Length is 0 or > MaxLength || key.Any(char.IsControl))
            return null;
        var input = Encoding.UTF8.GetBytes($"{userId}\n{key}");
        var digest = secret is { Length: > 0 } ? HMACSHA256.HashData(secret, input) : SHA256.HashData(input);
        return new Guid(digest.AsSpan(0, 16));
    }
}
