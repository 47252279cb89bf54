namespace Vocab.Plans;

/// <summary>
/// The claim's answer for one presentation of a request: its <see cref="State"/>; whether an earlier attempt was counted
/// and gave its reservation back (<see cref="CountedBefore"/>); whether another holds a live lease on it now.
/// </summary>
public sealed record RequestClaim(RequestClaimState State, bool CountedBefore = false, bool LeasedElsewhere = false);
