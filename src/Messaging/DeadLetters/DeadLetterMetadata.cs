namespace Vocab.Messaging.DeadLetters;

/// <summary>
/// What a dead-lettered copy's signature covers: the worker's own metadata, a digest of the body, and a digest of the
/// properties and headers a replay sends on (see <see cref="DeadLetterContent"/>).
/// </summary>
public sealed record DeadLetterMetadata(
    string? DeadLetterId, string? DeadLetteredAt, string? Reason, string? UserId, string? Role, string? KeyId, string? TokenId,
    string BodySha256, string CarriedSha256);
