namespace Vocab.Authentication;

/// <summary>What kind of credential a message or request carried.</summary>
public enum CredentialKind
{
    /// <summary>None at all.</summary>
    None,

    /// <summary>An <c>X-API-Key</c> header.</summary>
    ApiKey,

    /// <summary>An <c>Authorization: Bearer</c> header.</summary>
    Bearer,

    /// <summary>Something unusable: another scheme, an empty token, or both headers at once.</summary>
    Malformed,
}
