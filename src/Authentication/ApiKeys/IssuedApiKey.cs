namespace Vocab.Authentication.ApiKeys;

/// <summary>A newly created key: the key itself (shown once, never stored) and what was stored.</summary>
public sealed record IssuedApiKey(string Key, ApiKeyDocument Stored);
