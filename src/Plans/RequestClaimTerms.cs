namespace Vocab.Plans;

/// <summary>
/// What an admission records beside its reservation so that it also claims the requestId: the request's
/// <see cref="RequestFingerprint"/> (the same id with another body is refused) and the lease of the one delivery that
/// produces it (<paramref name="Owner"/>, for <paramref name="Lease"/>; a crashed owner's lease runs out and another takes over).
/// </summary>
public sealed record RequestClaimTerms(string Fingerprint, string Owner, TimeSpan Lease);
