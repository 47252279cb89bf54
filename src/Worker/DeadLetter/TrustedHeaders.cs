using Vocab.Contracts;
using Vocab.Security.DeadLetters;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Headers that ops and vocabctl trust on a dead-lettered message. Only the worker may write them: whatever a publisher
/// sent under these names is dropped, so they say only what the worker proved.
/// </summary>
public static class TrustedHeaders
{
    /// <summary>True for a header name only the worker may set (any casing).</summary>
    public static bool IsTrusted(string name) => DeadLetterContent.IsWorkerHeader(name);

    /// <summary>True for a header that carries a credential (any casing).</summary>
    public static bool IsCredential(string name) =>
        VocabHeaders.CredentialHeaders.Contains(name, StringComparer.OrdinalIgnoreCase);
}
