namespace Vocab.Plans;

/// <summary>Whether a request fits the rate window, and what the <c>RateLimit</c> headers should say.</summary>
public sealed record RateDecision(bool Allowed, int Limit, int Remaining, TimeSpan ResetAfter, TimeSpan Window);
