using RabbitMQ.Client;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Admin.Tokens;
using Vocab.Contracts;

namespace Vocab.Admin.DeadLetters;

/// <summary>
/// Sends a dead-lettered message back to the worker's queue. The original credential was stripped, so the replay carries
/// a short-lived token for the same user and role, minted with the configured HS256 key; a message whose caller has
/// since been revoked, or that failed on its credential, is refused.
/// </summary>
public sealed class DeadLetterReplayer(ApiKeyStore keys, TokenBlacklist blacklist, JwtTokenIssuer issuer, TimeProvider time)
{
    private static readonly string[] DroppedHeaderPrefixes = ["MT-Fault-", "MT-Reason", "MT-Host-", "Vocab-"];

    /// <summary>Why this message cannot be replayed; null when it can.</summary>
    public async Task<string?> RefusalAsync(DeadLetterMessage message, CancellationToken cancellationToken)
    {
        if (RejectionReasons.CredentialReasons.Contains(message.Reason))
            return $"{message.Reason}: the credential was stripped and was refused anyway; the publisher must send it again";
        if (message.UserId is null || !message.Headers.ContainsKey(VocabHeaders.Role))
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

    /// <summary>Publishes the replay to the worker's queue and waits for the broker's confirmation.</summary>
    public async Task PublishAsync(IChannel channel, BasicGetResult original, DeadLetterMessage message, string queueName, TimeSpan tokenLifetime)
    {
        var (token, _, _) = issuer.Issue(message.UserId!, message.Headers.GetValueOrDefault(VocabHeaders.Role) ?? Authentication.Roles.User, tokenLifetime);
        var headers = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in original.BasicProperties.Headers ?? new Dictionary<string, object?>())
        {
            if (!DroppedHeaderPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                headers[name] = value;
        }
        headers[VocabHeaders.Authorization] = $"{VocabHeaders.BearerScheme} {token}";
        headers[VocabHeaders.ReplayOf] = message.MessageId;

        var properties = new BasicProperties(original.BasicProperties) { Headers = headers, Persistent = true };
        await channel.BasicPublishAsync("", queueName, mandatory: true, properties, original.Body);
    }
}
