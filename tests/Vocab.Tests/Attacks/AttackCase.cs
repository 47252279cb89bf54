namespace Vocab.Tests.Attacks;

/// <summary>
/// One attack: the credential headers it sends (values may be strings, bytes, numbers, lists or tables on AMQP), the
/// body for the bus (null: a well-formed request), and what must come of it: one of the accepted reasons on the bus,
/// one of the accepted statuses on the bridge (empty: not sent there).
/// </summary>
public sealed record AttackCase(
    string Name,
    IReadOnlyDictionary<string, object?> Headers,
    IReadOnlySet<string> BusReasons,
    IReadOnlySet<int> BridgeStatuses,
    string? Body = null,
    string ContentType = "application/json")
{
    /// <summary>Every string in the headers and body that is long enough to be a credential: what must never reappear.</summary>
    public IEnumerable<string> Secrets =>
        Headers.Values.Select(v => v switch { string s => s, byte[] b => System.Text.Encoding.UTF8.GetString(b), _ => null })
            .OfType<string>()
            .SelectMany(s => new[] { s, s.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? s[7..].Trim() : s })
            .Where(s => s.Length >= 16 && (s.Contains("vocab_", StringComparison.Ordinal) || s.Contains('.', StringComparison.Ordinal)));

    public override string ToString() => Name;
}
