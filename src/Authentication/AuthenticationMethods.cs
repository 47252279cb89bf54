namespace Vocab.Authentication;

/// <summary>How a caller proved who they are.</summary>
public static class AuthenticationMethods
{
    /// <summary>An API key in <c>X-API-Key</c>.</summary>
    public const string ApiKey = "api_key";

    /// <summary>A JWT in <c>Authorization: Bearer</c>.</summary>
    public const string Jwt = "jwt";

    /// <summary>No usable credential was presented.</summary>
    public const string None = "none";
}
