using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Vocab.Authentication.ApiKeys;

/// <summary>
/// The shape of an API key: <c>vocab_&lt;keyId&gt;_&lt;secret&gt;</c>. The prefix makes a leaked key easy to spot,
/// the key id makes it traceable; only the SHA-256 hash of the whole key is stored.
/// </summary>
public static class ApiKeyFormat
{
    /// <summary>The recognisable prefix.</summary>
    public const string Prefix = "vocab";

    private const int KeyIdBytes = 6;
    private const int SecretBytes = 32;

    /// <summary>A new random key and its id.</summary>
    public static (string KeyId, string Key) Generate()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyIdBytes));
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));
        return (keyId, $"{Prefix}_{keyId}_{secret}");
    }

    /// <summary>Lower-case hex SHA-256 of the key, the form it is stored and looked up in.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The key id inside a well-formed key; null for anything else.</summary>
    public static string? TryGetKeyId(string key)
    {
        // Runs on every message: read the id in place rather than splitting the key.
        const string prefix = Prefix + "_";
        if (!key.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var idEnd = key.IndexOf('_', prefix.Length);
        if (idEnd - prefix.Length != KeyIdBytes * 2 || idEnd == key.Length - 1)
            return null;
        var id = key.AsSpan(prefix.Length, KeyIdBytes * 2);
        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c))
                return null;
        }
        return id.ToString();
    }
}
