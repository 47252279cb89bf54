namespace Vocab.HttpBridge.Authentication;

/// <summary>Names of the bridge's authentication scheme and the claims it issues.</summary>
public static class VocabAuthenticationDefaults
{
    public const string Scheme = "Vocab";
    public const string UserIdClaim = "sub";
    public const string RoleClaim = "role";
    public const string MethodClaim = "vocab_method";
    public const string KeyIdClaim = "vocab_key_id";
    public const string TokenIdClaim = "jti";

    /// <summary>HttpContext.Items key of the failure reason, for the challenge.</summary>
    public const string FailureReasonItem = "Vocab.FailureReason";

    /// <summary>HttpContext.Items key of the seconds a throttled address must wait, for the challenge's Retry-After.</summary>
    public const string RetryAfterItem = "Vocab.RetryAfter";
}
