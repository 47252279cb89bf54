namespace Vocab.Security;

/// <summary>
/// Whether a MongoDB connection string turns TLS on and keeps its checks, read from its real query options: the part
/// after the first <c>/</c> that follows the hosts, split into <c>name=value</c> pairs with names in any casing.
/// Nothing else counts: <c>tls=true</c> inside a user name, password or database name turns nothing on.
/// </summary>
internal static class MongoAddressTls
{
    private const string Plain = "mongodb://";
    private const string Srv = "mongodb+srv://";

    // Each turns a certificate or host-name check off (the C# driver's sslVerifyCertificate=false too).
    private static readonly string[] Insecure = ["tlsInsecure", "tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames"];

    public static bool IsMongoAddress(string value) =>
        value.StartsWith(Plain, StringComparison.OrdinalIgnoreCase) || value.StartsWith(Srv, StringComparison.OrdinalIgnoreCase);

    /// <summary>Why <paramref name="value"/> would not carry credentials over checked TLS; null when it would.</summary>
    public static string? Refusal(string value)
    {
        var srv = value.StartsWith(Srv, StringComparison.OrdinalIgnoreCase);
        var rest = value[(srv ? Srv : Plain).Length..];
        // User information may hold '/', '?' and '@' only percent-encoded, so the hosts end at the first '/'; the options
        // are what follows the first '?' after it.
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        if (authority.Contains('?', StringComparison.Ordinal))
            return "is a MongoDB address with options not after a '/' (write mongodb://host/?tls=true)";
        var path = slash < 0 ? "" : rest[(slash + 1)..];
        var question = path.IndexOf('?', StringComparison.Ordinal);
        var options = Options(question < 0 ? "" : path[(question + 1)..]);

        foreach (var (name, optionValue) in options)
        {
            if (Insecure.Any(n => n.Equals(name, StringComparison.OrdinalIgnoreCase)) && !IsFalse(optionValue))
                return $"sets {name}={Shown(optionValue)}, which turns certificate or host-name checks off";
            if (name.Equals("sslVerifyCertificate", StringComparison.OrdinalIgnoreCase) && !IsTrue(optionValue))
                return $"sets {name}={Shown(optionValue)}, which turns certificate checks off";
        }

        var tls = options.Where(o => o.Name.Equals("tls", StringComparison.OrdinalIgnoreCase) || o.Name.Equals("ssl", StringComparison.OrdinalIgnoreCase)).ToList();
        if (tls.FirstOrDefault(o => !IsTrue(o.Value)) is { Name: not null } off)
            return $"sets {off.Name}={Shown(off.Value)}";
        // mongodb+srv:// has TLS on unless an option turns it off (checked above).
        return tls.Count > 0 || srv ? null : "is a MongoDB address without tls=true";
    }

    private static List<(string Name, string Value)> Options(string query) =>
        query.Split(['&', ';'], StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .Select(parts => (Uri.UnescapeDataString(parts[0]).Trim(), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]).Trim() : ""))
            .ToList();

    // A value that is not a plain boolean may be a fragment of a mistyped password: it is not repeated in the error.
    private static string Shown(string value) => IsTrue(value) || IsFalse(value) ? value : "(not true or false)";

    private static bool IsTrue(string value) => value.Equals("true", StringComparison.OrdinalIgnoreCase);

    private static bool IsFalse(string value) => value.Equals("false", StringComparison.OrdinalIgnoreCase);
}
