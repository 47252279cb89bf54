using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;

namespace Vocab.Ops.Authentication;

/// <summary>
/// Checks a console session's credential again on every request: a session opened with an API key ends once that key is
/// revoked, expires or changes role; one opened with a JWT ends once the token expires, or its <c>jti</c>, or every token
/// of its user, is revoked. Without it a session outlived its credential by up to <c>Ops:SessionLifetime</c>.
/// </summary>
public sealed class OpsSessionValidator(ApiKeyStore keys, TokenBlacklist blacklist, TimeProvider time)
{
    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal is not { } principal || await IsStillValidAsync(principal, context.Properties.IssuedUtc, context.HttpContext.RequestAborted))
            return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(OpsClaims.Scheme);
    }

    private async Task<bool> IsStillValidAsync(ClaimsPrincipal principal, DateTimeOffset? signedInAt, CancellationToken cancellationToken)
    {
        var userId = principal.FindFirstValue(OpsClaims.UserId) ?? "";
        if (principal.FindFirstValue(OpsClaims.KeyId) is { } keyId)
        {
            var key = await keys.FindByIdAsync(keyId, cancellationToken);
            return key is { Active: true } && (key.ExpiresAt is not { } expires || expires > time.GetUtcNow().UtcDateTime)
                   && key.UserId == userId && key.Role == principal.FindFirstValue(OpsClaims.Role);
        }
        // A token: its expiry, its own revocation, or its user's since the session began (the token was issued before it).
        // A session without the expiry (opened before sessions carried it) ends too: it could not be held to its token.
        if (!long.TryParse(principal.FindFirstValue(OpsClaims.TokenExpiresAt), NumberStyles.Integer, CultureInfo.InvariantCulture, out var expiresAt)
            || time.GetUtcNow().ToUnixTimeSeconds() >= expiresAt)
            return false;
        return !await blacklist.IsRevokedAsync(principal.FindFirstValue(OpsClaims.TokenId), userId, signedInAt?.UtcDateTime, cancellationToken);
    }
}
