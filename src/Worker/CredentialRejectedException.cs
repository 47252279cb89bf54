using Vocab.Authentication;

namespace Vocab.Worker;

/// <summary>The message's credential was refused; never retried.</summary>
public sealed class CredentialRejectedException : VocabRequestException
{
    /// <summary>Carries the failed result's reason and identifiers (never the credential).</summary>
    public CredentialRejectedException(AuthenticationResult result)
        : base(result.FailureReason!, $"Credential rejected: {result.FailureReason} ({result.FailureDetail})")
    {
        UserId = result.UserId;
        KeyId = result.KeyId;
        TokenId = result.TokenId;
    }
}
