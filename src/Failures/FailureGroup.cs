namespace Vocab.Failures;

/// <summary>One row of the overview: a reason (or an exception type, for internal errors) and what it amounts to.</summary>
public sealed record FailureGroup(string Group, string Reason, long Count, long UsersAffected, DateTime FirstSeen, DateTime LastSeen);
