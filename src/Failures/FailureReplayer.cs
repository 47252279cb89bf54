using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using MongoDB.Driver;
using RabbitMQ.Client;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Messaging.DeadLetters;

namespace Vocab.Failures;

/// <summary>
/// Sends stored failures back to the worker, at most <c>Ops:ReplaysPerSecond</c> for the whole process. A failure is
/// replayed only when the copy kept in the store still verifies under the worker's key, its caller was proven and is not
/// revoked since, and it was never replayed before: it is claimed (open to replayed) before it is published, so two
/// operators pressing the button together publish it once. The replay carries exactly what the signature covers, plus a
/// short-lived token for the signed user and role (the original credential was stripped), and every attempt is recorded
/// on the failure.
/// </summary>
public sealed class FailureReplayer(FailureStore store, BrokerConnection broker, DeadLetterSigner signer, ApiKeyStore keys,
    TokenBlacklist blacklist, JwtTokenIssuer issuer, IOptions<FailureOptions> options, TimeProvider time) : IDisposable
{
    private readonly TokenBucketRateLimiter _rate = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = 1,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1 / options.Value.ReplaysPerSecond),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    });

    /// <summary>Why this failure cannot be replayed now; null when it can.</summary>
    public async Task<string?> RefusalAsync(FailureDocument failure, CancellationToken cancellationToken)
    {
        if (failure.Status == FailureStatus.Replayed)
            return "already replayed; a new failure of it is stored as a new dead letter";
        if (signer.WhyUnverified(failure.Copy.Properties(), failure.Copy.Body) is { } unverified)
            return $"unverified ({unverified}); its metadata is not the worker's, so it is never replayed";
        if (!failure.Verified || failure.DeadLetterId != failure.Id)
            return "not stored as a verified copy; never replayed";
        if (failure.Queue == FailureQueues.Skipped)
            return "a message of a type no consumer handles (skipped, never authenticated): replayed it would be skipped again";
        if (failure.Queue == FailureQueues.Refused)
            return "a refusal (metadata only, its body was never kept): the publisher must send it again";
        if (RejectionReasons.CredentialReasons.Contains(failure.Reason))
            return $"{failure.Reason}: the credential was stripped and was refused anyway; the publisher must send it again";
        if (failure.UserId is null || failure.Role is null)
            return "no caller was proven for it (no Vocab-User-Id and Vocab-Role from the worker), so it is replayed on nobody's behalf";
        if (failure.BodyRemoved is { } removed)
            return $"its body was removed ({removed}) because it could not be cleaned of credentials; the publisher must send it again";
        if (!issuer.CanIssue)
            return "no HS256 key is configured (Jwt:Keys:N:Secret) to sign the replay's credential";
        var now = time.GetUtcNow().UtcDateTime;
        if (failure.KeyId is not null && await keys.FindByIdAsync(failure.KeyId, cancellationToken) is var key &&
            (key is null || !key.Active || key.ExpiresAt <= now))
            return $"API key {failure.KeyId} has since been revoked or has expired";
        if (failure.TokenId is not null && await blacklist.IsRevokedAsync(failure.TokenId, failure.UserId, null, cancellationToken))
            return $"token {failure.TokenId} (or every token of user {failure.UserId}) has since been revoked";
        return null;
    }

    /// <summary>Replays the given failures in order, at the capped rate, recording each attempt as done by <paramref name="by"/>.</summary>
    public async Task<ReplayOutcome> ReplayAsync(IReadOnlyList<string> ids, string by, TimeSpan tokenLifetime, CancellationToken cancellationToken)
    {
        var replayed = new List<string>();
        var refused = new List<(string, string?, string)>();
        IChannel? channel = null;
        try
        {
            foreach (var id in ids.Distinct(StringComparer.Ordinal))
            {
                var failure = await store.GetAsync(id, cancellationToken);
                var why = failure is null ? $"no stored failure '{id}'" : await RefusalAsync(failure, cancellationToken);
                if (why is null && !await store.ClaimForReplayAsync(id, cancellationToken))
                    why = "already replayed (by someone else just now)";
                if (why is not null)
                {
                    refused.Add((id, failure?.DeadLetterId, why));
                    if (failure is not null)
                        await store.RecordReplayAsync(id, new ReplayRecord { At = Now, By = by, Replayed = false, Detail = why }, CancellationToken.None);
                    continue;
                }

                using var lease = await _rate.AcquireAsync(1, cancellationToken);
                try
                {
                    channel ??= await (await broker.GetAsync("vocab-ops-replay", cancellationToken)).CreateChannelAsync(
                        new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
                    await PublishAsync(channel, failure!, tokenLifetime, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Not published: open again, so it can be replayed once the broker is back.
                    await store.ReopenAsync(id, CancellationToken.None);
                    await store.RecordReplayAsync(id, new ReplayRecord { At = Now, By = by, Replayed = false, Detail = $"publish failed: {e.Message}" }, CancellationToken.None);
                    refused.Add((id, failure!.DeadLetterId, $"publish failed: {e.Message}"));
                    channel = null;
                    continue;
                }
                await store.RecordReplayAsync(id, new ReplayRecord { At = Now, By = by, Replayed = true, Detail = $"published to {options.Value.QueueName}" }, CancellationToken.None);
                replayed.Add(id);
            }
        }
        finally
        {
            if (channel is not null)
                await channel.DisposeAsync();
        }
        return new ReplayOutcome(replayed, refused);
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private async Task PublishAsync(IChannel channel, FailureDocument failure, TimeSpan tokenLifetime, CancellationToken cancellationToken)
    {
        var copy = failure.Copy.Properties();
        // Checked again on the very copy being published, not only on the listing that chose it.
        if (signer.WhyUnverified(copy, failure.Copy.Body) is not null || failure.UserId is null || failure.Role is null)
            throw new InvalidOperationException($"dead letter {failure.Id} is not a verified copy with a proven caller; not replayed");
        var (token, _, _) = issuer.Issue(failure.UserId, failure.Role, tokenLifetime);
        var properties = DeadLetterContent.ReplayProperties(copy);
        properties.Headers![VocabHeaders.Authorization] = $"{VocabHeaders.BearerScheme} {token}";
        properties.Headers[VocabHeaders.ReplayOf] = failure.Id;
        // The exchange publishers use: replaying needs no write on the default exchange, which reaches every queue.
        await channel.BasicPublishAsync(options.Value.QueueName, "", mandatory: true, properties, failure.Copy.Body, cancellationToken);
    }

    public void Dispose() => _rate.Dispose();
}
