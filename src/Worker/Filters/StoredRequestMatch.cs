using Vocab.Vocabularies;

namespace Vocab.Worker.Filters;

/// <summary>Whether what is stored under a requestId is this request's: the same caller and, when it was kept, the same fingerprint.</summary>
public static class StoredRequestMatch
{
    /// <summary>
    /// True when <paramref name="stored"/> was stored for another caller or another body: serving it would answer another
    /// question (or someone else's) under this requestId. Lists stored before fingerprints were kept compare the caller only.
    /// </summary>
    public static bool IsAnotherRequest(VocabularyDocument stored, string userId, string fingerprint) =>
        stored.UserId != userId || stored.Fingerprint is { } kept && kept != fingerprint;
}
