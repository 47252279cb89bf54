using Vocab.Plans;

namespace Vocab.Worker.Messaging;

/// <summary>
/// What the caller's rate window says after its admission, kept on the receive context for a requester that waits: its
/// answer (served or refused) carries it as <see cref="Contracts.VocabHeaders.RateLimit"/> headers.
/// </summary>
public sealed record RateReport(RateDecision Rate);
