using Vocab.Contracts;

namespace Vocab.Messaging;

/// <summary>
/// Headers that ops and vocabctl trust on a dead-lettered message, and the headers that carry credentials. Only the
/// worker may write the trusted ones: whatever a publisher sent under these names is dropped, so they say only what the
/// worker proved; a replay drops them too, since the worker writes them afresh.
/// </summary>
public static class TrustedHeaders
{
    /// <summary>The prefixes of headers only the worker writes on a dead-lettered copy (its own, MassTransit's fault headers).</summary>
    public static readonly IReadOnlyList<string> WorkerPrefixes = [VocabHeaders.Prefix, "MT-Fault-", "MT-Reason", "MT-Host-"];

    /// <summary>True for a header name only the worker may set (any casing).</summary>
    public static bool IsTrusted(string name) =>
        WorkerPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Headers between one requester and the worker: asked to be answered without waiting, the rate window on the answer.
    /// Never kept on a dead-letter copy, so a replay is an ordinary bus message that waits for its rate window.
    /// </summary>
    public static readonly IReadOnlyList<string> RequesterOnly = [VocabHeaders.AnswerWithoutWaiting, VocabHeaders.RateLimitPolicy, VocabHeaders.RateLimit];

    /// <summary>True for a <see cref="RequesterOnly"/> header (any casing).</summary>
    public static bool IsRequesterOnly(string name) => RequesterOnly.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>True for a header that carries a credential (any casing).</summary>
    public static bool IsCredential(string name) =>
        VocabHeaders.CredentialHeaders.Contains(name, StringComparer.OrdinalIgnoreCase);
}
