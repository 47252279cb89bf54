using Microsoft.Extensions.Options;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Contracts;

namespace Vocab.Authentication;

/// <summary>The one entry point for checking a credential, used by the worker's consume filter and the HTTP bridge.</summary>
public sealed class CredentialValidator(
    ApiKeyValidator apiKeys, JwtValidator jwts, IOptions<AuthenticationOptions> options, AuthenticationMetrics metrics)
{
    private readonly HashSet<string> _allowedRoles = new(options.Value.EffectiveAllowedRoles, StringComparer.Ordinal);

    /// <summary>Checks the credential and that the caller's role may request vocabulary.</summary>
    public async ValueTask<AuthenticationResult> ValidateAsync(PresentedCredential credential, CancellationToken cancellationToken)
    {
        var result = credential.Kind switch
        {
            CredentialKind.None => AuthenticationResult.Failure(RejectionReasons.MissingCredentials, "no X-API-Key or Authorization header", AuthenticationMethods.None),
            CredentialKind.Malformed => AuthenticationResult.Failure(RejectionReasons.InvalidCredentials,
                "credential headers unusable (not a Bearer token, empty, or both headers)", AuthenticationMethods.None),
            CredentialKind.ApiKey => await apiKeys.ValidateAsync(credential.Secret, cancellationToken),
            _ => await jwts.ValidateAsync(credential.Secret, cancellationToken),
        };

        if (result.Caller is { } caller && !_allowedRoles.Contains(caller.Role))
            result = AuthenticationResult.Refused(RejectionReasons.Forbidden, $"role '{caller.Role}' may not request vocabulary",
                caller.Method, caller.UserId, caller.KeyId, caller.TokenId);

        metrics.Record(result);
        return result;
    }
}
