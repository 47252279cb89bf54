namespace Vocab.Failures;

/// <summary>
/// Which stored failures to list or act on. Every field narrows; <see cref="Status"/> null means any status. The list is
/// newest first and pages by the position of the last row shown (<see cref="Before"/>), so every page is an index range.
/// </summary>
public sealed record FailureFilter(
    string? Reason = null, string? Group = null, string? UserId = null, string? KeyId = null, string? VideoId = null,
    DateTime? From = null, DateTime? To = null, string? Status = FailureStatus.Open, string? Queue = null, FailureCursor? Before = null);
