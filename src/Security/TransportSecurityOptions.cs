namespace Vocab.Security;

/// <summary>Whether plaintext is refused where credentials travel: <c>Security:RequireTls</c>.</summary>
public sealed class TransportSecurityOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Security";

    /// <summary>On: the process refuses to start with an <c>amqp://</c>, <c>http://</c> or non-TLS MongoDB address.</summary>
    public bool RequireTls { get; set; }
}
