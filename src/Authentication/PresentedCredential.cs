using Vocab.Contracts;

namespace Vocab.Authentication;

/// <summary>The credential as read from headers. Its secret is never printed: <see cref="ToString"/> names the kind only.</summary>
public sealed class PresentedCredential
{
    private PresentedCredential(CredentialKind kind, string secret)
    {
        Kind = kind;
        Secret = secret;
    }

    /// <summary>No credential.</summary>
    public static PresentedCredential None { get; } = new(CredentialKind.None, "");

    /// <summary>The kind of credential.</summary>
    public CredentialKind Kind { get; }

    /// <summary>The API key or the raw JWT; empty for <see cref="CredentialKind.None"/> and <see cref="CredentialKind.Malformed"/>.</summary>
    public string Secret { get; }

    /// <summary>Reads the credential from the two header values (either may be null).</summary>
    public static PresentedCredential FromHeaders(string? apiKey, string? authorization)
    {
        var hasKey = !string.IsNullOrWhiteSpace(apiKey);
        var hasAuthorization = !string.IsNullOrWhiteSpace(authorization);
        if (hasKey && hasAuthorization)
            return new PresentedCredential(CredentialKind.Malformed, "");
        if (hasKey)
            return new PresentedCredential(CredentialKind.ApiKey, apiKey!.Trim());
        if (!hasAuthorization)
            return None;

        var value = authorization!.Trim();
        var prefix = VocabHeaders.BearerScheme + " ";
        if (!value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            return new PresentedCredential(CredentialKind.Malformed, "");
        var token = value[prefix.Length..].Trim();
        return token.Length == 0
            ? new PresentedCredential(CredentialKind.Malformed, "")
            : new PresentedCredential(CredentialKind.Bearer, token);
    }

    /// <inheritdoc />
    public override string ToString() => Kind.ToString();
}
