using RabbitMQ.Client;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Admin.Tokens;
using Vocab.Contracts;
using Vocab.Messaging.DeadLetters;

namespace Vocab.Admin.DeadLetters;

/// <summary>
/// Sends a dead-lettered message back to the worker. Only a copy whose signature verifies is replayed, and it is sent
/// with exactly what the signature covers (body, ids, reply address, the publisher's other headers). The original
/// credential was stripped, so the replay carries a short-lived token for the signed user and role, minted with the
/// configured HS256 key; a message whose caller has since been revoked, or that failed on its credential, is refused.
/// </summary>
public sealed class DeadLetterReplayer(ApiKeyStore keys, TokenBlacklist blacklist, JwtTokenIssuer issuer, TimeProvider time)
{
    /// <summary>Why this message cannot be replayed; null when it can.</summary>
    public async Task<string?> RefusalAsync(DeadLetterMessage message, CancellationToken cancellationToken)
    {
        if (message.Unverified is { } unverified)
            return $"unverified ({unverified}); its metadata is not the worker's, so it is never replayed";
        if (RejectionReasons.CredentialReasons.Contains(message.Reason))
            return $"{message.Reason}: the credential was stripped and was refused anyway; the publisher must send it again";
        if (message.UserId is null || message.Role is null)
            return "no caller was proven for it (no Vocab-User-Id and Vocab-Role from the worker), so it is replayed on nobody's behalf";
        if (message.Headers.TryGetValue(VocabHeaders.BodyRemoved, out var removed))
            return $"its body was removed ({removed}) because it could not be cleaned of credentials; the publisher must send it again";
        if (!issuer.CanIssue)
            return "no HS256 key is configured (Jwt:Keys:N:Secret) to sign the replay's credential";
        var now = time.GetUtcNow().UtcDateTime;
        if (message.KeyId is not null && await keys.FindByIdAsync(message.KeyId, cancellationToken) is var key &&
            (key is null || !key.Active || key.ExpiresAt <= now))
            return $"API key {message.KeyId} has since been revoked or has expired";
        if (message.TokenId is not null && await blacklist.IsRevokedAsync(message.TokenId, message.UserId, null, cancellationToken))
            return $"token {message.TokenId} (or every token of user {message.UserId}) has since been revoked";
        return null;
    }

    /// <summary>Publishes the replay to the worker's exchange and waits for the broker's confirmation.</summary>
    public async Task PublishAsync(IChannel channel, BasicGetResult original, DeadLetterMessage message, string queueName, TimeSpan tokenLifetime)
    {
        // Checked again on the very message being acknowledged, not only on the listing that chose it.
        if (!message.Verified || message.UserId is null || message.Role is null || message.DeadLetterId is null)
            throw new InvalidOperationException($"dead letter {message.DeadLetterId} is not a verified copy with a proven caller; not replayed");
        var (token, _, _) = issuer.Issue(message.UserId, message.Role, tokenLifetime);
        var properties = DeadLetterContent.ReplayProperties(original.BasicProperties);
        properties.Headers![VocabHeaders.Authorization] = $"{VocabHeaders.BearerScheme} {token}";
        properties.Headers[VocabHeaders.ReplayOf] = message.DeadLetterId;
        // The exchange publishers use: replaying needs no write on the default exchange, which reaches every queue.
        await channel.BasicPublishAsync(queueName, "", mandatory: true, properties, original.Body);
    }
}
