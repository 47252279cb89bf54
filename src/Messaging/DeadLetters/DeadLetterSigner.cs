using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Vocab.Contracts;

namespace Vocab.Messaging.DeadLetters;

/// <summary>
/// Signs a dead-lettered copy's trusted metadata with HMAC-SHA256 (the worker) and verifies it before anyone acts on it
/// (vocabctl): a copy that is unsigned, signed by an unknown key, or changed after signing is not to be trusted.
/// </summary>
public sealed class DeadLetterSigner
{
    private const string Version = "vocab-dead-letter-v1";
    private readonly string _signingKeyId;
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public DeadLetterSigner(IOptions<DeadLetterSigningOptions> options)
    {
        var value = options.Value;
        _signingKeyId = value.SigningKeyId;
        _keys[value.SigningKeyId] = Encoding.UTF8.GetBytes(value.SigningKey);
        foreach (var previous in value.PreviousKeys)
            _keys.TryAdd(previous.Id, Encoding.UTF8.GetBytes(previous.Secret));
    }

    /// <summary>Signs the copy about to be written: adds <c>Vocab-Signature-Key-Id</c> and <c>Vocab-Signature</c> to its headers.</summary>
    public void Sign(BasicProperties properties, ReadOnlySpan<byte> body)
    {
        var metadata = DeadLetterContent.Read(properties, body)
                       ?? throw new InvalidOperationException("A dead-lettered copy carries a signed header twice; refusing to sign it.");
        if (metadata.DeadLetterId is null)
            throw new InvalidOperationException($"A dead-lettered copy must carry {VocabHeaders.DeadLetterId} before it is signed.");
        var headers = properties.Headers ??= new Dictionary<string, object?>();
        headers[VocabHeaders.SignatureKeyId] = _signingKeyId;
        headers[VocabHeaders.Signature] = Convert.ToBase64String(Mac(_keys[_signingKeyId], _signingKeyId, metadata));
    }

    /// <summary>Why this copy cannot be trusted; null when its signature verifies under a configured key.</summary>
    public string? WhyUnverified(IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body)
    {
        var signature = DeadLetterContent.Header(properties, VocabHeaders.Signature);
        var keyId = DeadLetterContent.Header(properties, VocabHeaders.SignatureKeyId);
        if (signature is null || keyId is null)
            return "unsigned: no Vocab-Signature from the worker";
        if (DeadLetterContent.Read(properties, body) is not { } metadata)
            return "a signed header appears twice";
        if (metadata.DeadLetterId is null)
            return "no Vocab-Dead-Letter-Id";
        if (!_keys.TryGetValue(keyId, out var key))
            return $"signed with key '{keyId}', which is not configured (DeadLetter:SigningKeyId, DeadLetter:PreviousKeys)";
        Span<byte> presented = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(signature, presented, out var written) || written != presented.Length)
            return "the signature is malformed";
        return CryptographicOperations.FixedTimeEquals(presented, Mac(key, keyId, metadata))
            ? null
            : "the signature does not match: the copy was changed after the worker wrote it, or forged";
    }

    private static byte[] Mac(byte[] key, string keyId, DeadLetterMetadata m)
    {
        string?[] fields = [Version, keyId, m.DeadLetterId, m.DeadLetteredAt, m.Reason, m.UserId, m.Role, m.KeyId, m.TokenId, m.BodySha256, m.CarriedSha256];
        return HMACSHA256.HashData(key, JsonSerializer.SerializeToUtf8Bytes(fields));
    }
}
