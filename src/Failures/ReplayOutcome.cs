namespace Vocab.Failures;

/// <summary>What a replay request did: the failures published, and each refused one with why.</summary>
public sealed record ReplayOutcome(IReadOnlyList<string> Replayed, IReadOnlyList<(string Id, string? DeadLetterId, string Why)> Refused);
