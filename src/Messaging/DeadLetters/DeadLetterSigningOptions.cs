namespace Vocab.Messaging.DeadLetters;

/// <summary>
/// The key that signs dead-lettered copies (<c>DeadLetter:SigningKey</c>, named by <c>DeadLetter:SigningKeyId</c>) and
/// the keys still accepted when verifying them after a rotation (<c>DeadLetter:PreviousKeys:N:Id</c> / <c>Secret</c>).
/// </summary>
public sealed class DeadLetterSigningOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DeadLetter";

    /// <summary>The HMAC-SHA256 secret, at least 32 bytes (UTF-8); the worker signs with it and vocabctl verifies.</summary>
    public string SigningKey { get; set; } = "";

    /// <summary>Written beside every signature, so a copy signed before a rotation finds its key.</summary>
    public string SigningKeyId { get; set; } = "primary";

    /// <summary>Retired keys that still verify copies they signed; none signs.</summary>
    public List<DeadLetterVerificationKey> PreviousKeys { get; set; } = [];
}
