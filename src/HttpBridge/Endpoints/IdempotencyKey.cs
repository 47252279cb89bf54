using System.Security.Cryptography;
using System.Text;

namespace Vocab.HttpBridge.Endpoints;

/// <summary>
/// The <c>Idempotency-Key</c> header (IETF httpapi draft): a caller's own key for one request, turned into the bus
/// requestId. Scoped to the caller, so two callers choosing the same key never collide or learn of each other.
/// </summary>
public static class IdempotencyKey
{
    public const string HeaderName = "Idempotency-Key";

    /// <summary>The longest key accepted.</summary>
    public const int MaxLength = 255;

    /// <summary>The requestId for the caller's key; a fresh one when the caller sent none; null when the key is unusable.</summary>
    public static Guid? RequestIdFor(string userId, string? key)
    {
        if (key is null)
            return Guid.NewGuid();
        if (key.Length is 0 or > MaxLength || key.Any(char.IsControl))
            return null;
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{userId}\n{key}"));
        return new Guid(digest.AsSpan(0, 16));
    }
}
