namespace Vocab.Plans;

/// <summary>Whether a request fits the month's quota; <see cref="ResetsAt"/> says when a refused one would.</summary>
public sealed record QuotaDecision(bool Admitted, DateTimeOffset ResetsAt);
