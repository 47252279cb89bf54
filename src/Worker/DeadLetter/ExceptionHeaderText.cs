namespace Vocab.Worker.DeadLetter;

/// <summary>
/// The exception text MassTransit adds to a dead-letter copy (<c>MT-Fault-Message</c>, <c>MT-Fault-StackTrace</c>…),
/// checked like the publisher's headers: no failure known today puts a credential in its message, and one that ever did
/// must not reach the copy. The worker's identity headers are not checked: they are what it proved, and what the
/// signature vouches for.
/// </summary>
public static class ExceptionHeaderText
{
    /// <summary>What such a header says instead of text that holds a credential.</summary>
    public const string Removed = "(removed: it held a credential)";

    /// <summary>The value to write for header <paramref name="name"/>: <see cref="Removed"/> for exception text holding a credential.</summary>
    public static object Checked(string name, object value, CredentialDetector detector) =>
        name.StartsWith("MT-", StringComparison.OrdinalIgnoreCase) && value is string text && detector.Appears(text) ? Removed : value;
}
