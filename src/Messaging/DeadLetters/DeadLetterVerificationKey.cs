namespace Vocab.Messaging.DeadLetters;

/// <summary>A retired dead-letter signing key: <c>DeadLetter:PreviousKeys:N:Id</c> and <c>Secret</c>.</summary>
public sealed class DeadLetterVerificationKey
{
    public string Id { get; set; } = "";

    public string Secret { get; set; } = "";
}
