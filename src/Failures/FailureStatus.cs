namespace Vocab.Failures;

/// <summary>Where a stored failure stands.</summary>
public static class FailureStatus
{
    /// <summary>Waiting for ops.</summary>
    public const string Open = "open";

    /// <summary>Published back to the worker (a later failure of it is a new document).</summary>
    public const string Replayed = "replayed";

    /// <summary>Put aside by ops: kept until retention ends, out of the overview.</summary>
    public const string Archived = "archived";

    /// <summary>Being deleted: taken out of the counters first, then removed (never listed).</summary>
    public const string Purging = "purging";
}
