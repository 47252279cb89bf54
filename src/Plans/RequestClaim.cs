namespace Vocab.Plans;

/// <summary>
/// The claim's answer for one presentation of a request: its <see cref="State"/>; the month an earlier attempt was
/// counted in and gave its reservation back (<see cref="CountedInMonth"/>); who holds a live lease on it now
/// (<see cref="Holder"/>, the lease owner's name; null when nobody does).
/// </summary>
public sealed record RequestClaim(RequestClaimState State, string? CountedInMonth = null, string? Holder = null);
