namespace Vocab.Plans;

/// <summary>What a requestId's claim says of a request presented under it.</summary>
public enum RequestClaimState
{
    /// <summary>First seen now, or seen before with the same fingerprint and not answered yet.</summary>
    Open,

    /// <summary>First seen now, and claimed with the lease the caller asked for: nothing can be stored under it yet.</summary>
    Leased,

    /// <summary>Seen before with the same fingerprint and answered: the stored answer is its answer.</summary>
    Completed,

    /// <summary>The id was first used for another request (another body or another caller): refused.</summary>
    Conflict,
}
