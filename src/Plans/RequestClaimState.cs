namespace Vocab.Plans;

/// <summary>What a requestId's claim says of a request presented under it.</summary>
public enum RequestClaimState
{
    /// <summary>Seen before with the same fingerprint: it may be answered (look in the store), in flight, or failed.</summary>
    Open,

    /// <summary>First seen now, and claimed with the lease the caller asked for: nothing can be stored under it yet.</summary>
    Leased,

    /// <summary>The id was first used for another request (another body or another caller): refused.</summary>
    Conflict,
}
