using System.Security.Cryptography;
using System.Text;
using Vocab.Contracts;

namespace Vocab.Authentication.ApiKeys;

/// <summary>Checks an API key: found by hash, active, unexpired. Lookups are cached for <see cref="AuthenticationOptions.CacheDuration"/>.</summary>
public sealed class ApiKeyValidator(
    ApiKeyStore store, LookupCache cache, ApiKeyUsageRecorder usage, TimeProvider time)
{
    /// <summary>Checks the key.</summary>
    public async ValueTask<AuthenticationResult> ValidateAsync(string key, CancellationToken cancellationToken)
    {
        const string method = AuthenticationMethods.ApiKey;
        var keyId = ApiKeyFormat.TryGetKeyId(key);
        if (keyId is null)
            return AuthenticationResult.Failure(RejectionReasons.InvalidCredentials, "API key is not in the vocab_<id>_<secret> form", method);

        var hash = ApiKeyFormat.Hash(key);
        var stored = await cache.GetOrLoadAsync(nameof(ApiKeyValidator), hash, ct => store.FindByHashAsync(hash, ct), cancellationToken);
        // The lookup was by hash; compare again in constant time so a lenient store or collation can never match a near miss.
        if (stored is null || stored.KeyId != keyId ||
            !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored.Hash), Encoding.ASCII.GetBytes(hash)))
            // No key id attached: anyone can write a victim's id with a made-up secret, and ops tools would file the junk
            // as that key's failures. The id it claims is in the detail, for the logs.
            return AuthenticationResult.Failure(RejectionReasons.InvalidCredentials, $"unknown API key (claims key id {keyId})", method);

        if (!stored.Active)
            return AuthenticationResult.Refused(RejectionReasons.RevokedCredentials, "API key is revoked or inactive", method, stored.UserId, keyId);
        if (stored.ExpiresAt is { } expiresAt && expiresAt <= time.GetUtcNow().UtcDateTime)
            return AuthenticationResult.Refused(RejectionReasons.ExpiredCredentials, "API key has expired", method, stored.UserId, keyId);

        usage.Record(keyId);
        return AuthenticationResult.Success(new AuthenticatedCaller(stored.UserId, stored.Role, method, keyId, null));
    }
}
