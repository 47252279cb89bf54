namespace Vocab.Worker.Messaging;

/// <summary>Text a publisher wrote (a reply address, an exchange name), made fit for a log line: short, printable only.</summary>
public static class PublisherText
{
    private const int MaxLength = 128;

    /// <summary>The first 128 characters of <paramref name="text"/>, control characters as <c>?</c>.</summary>
    public static string ForLog(string text) => new(text.Take(MaxLength).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
