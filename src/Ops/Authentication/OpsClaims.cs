using System.Security.Claims;

namespace Vocab.Ops.Authentication;

/// <summary>The console's cookie scheme, policy and the claims its sign-in writes.</summary>
public static class OpsClaims
{
    public const string Scheme = "VocabOps";
    public const string Policy = "ops";
    public const string UserId = "sub";
    public const string Role = "role";
    public const string KeyId = "vocab_key_id";
    public const string TokenId = "jti";

    /// <summary>A session opened with a JWT: the token's expiry (Unix seconds), past which the session ends with it.</summary>
    public const string TokenExpiresAt = "vocab_token_exp";

    /// <summary>The roles that may use the console.</summary>
    public static readonly IReadOnlyList<string> Roles = [Vocab.Authentication.Roles.Admin, Vocab.Authentication.Roles.Ops];

    /// <summary>The operator as written to the audit log and replay history: user, and key id or jti (never a secret).</summary>
    public static string Operator(ClaimsPrincipal user)
    {
        var id = user.FindFirstValue(UserId) ?? "?";
        return user.FindFirstValue(KeyId) is { } key ? $"{id} (key {key})"
            : user.FindFirstValue(TokenId) is { } jti ? $"{id} (jti {jti})" : id;
    }
}
