using System.Text;
using System.Text.RegularExpressions;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Decides whether text holds a credential: one of the values the message itself presented, or anything shaped like a
/// Vocab API key or a JWT. Shapes are checked too so that a credential copied into an unexpected place is still caught.
/// </summary>
public sealed partial class CredentialDetector
{
    // Shorter values cannot be a key or a token; matching them would flag every header that shares a few letters.
    private const int MinimumSecretLength = 8;
    private readonly List<string> _secrets = [];

    /// <summary>Remembers a presented credential value (and, for <c>Bearer x</c>, the token alone).</summary>
    public void Add(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return;
        foreach (var part in value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Append(value.Trim()))
        {
            if (part.Length >= MinimumSecretLength && !_secrets.Contains(part, StringComparer.Ordinal))
                _secrets.Add(part);
        }
    }

    /// <summary>True when the text contains a remembered credential or something shaped like one.</summary>
    public bool Appears(string text) =>
        _secrets.Any(s => text.Contains(s, StringComparison.Ordinal)) || ApiKeyShape().IsMatch(text) || JwtShape().IsMatch(text);

    /// <summary>The same for bytes read as UTF-8.</summary>
    public bool Appears(ReadOnlySpan<byte> utf8) => Appears(Encoding.UTF8.GetString(utf8));

    [GeneratedRegex("vocab_[0-9a-fA-F]{12}_", RegexOptions.CultureInvariant)]
    private static partial Regex ApiKeyShape();

    // A JOSE header always starts with '{"' which base64url-encodes to "eyJ"; two dots follow in a JWS.
    [GeneratedRegex("eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*\\.", RegexOptions.CultureInvariant)]
    private static partial Regex JwtShape();
}
