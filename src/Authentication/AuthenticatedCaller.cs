namespace Vocab.Authentication;

/// <summary>Who sent a message or request, as proven by its credential. Holds identifiers only, never the secret.</summary>
public sealed record AuthenticatedCaller(string UserId, string Role, string Method, string? KeyId, string? TokenId);
