using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Vocab.Security;

/// <summary>
/// With <c>Security:RequireTls</c> on, fails start-up for every checked setting whose address would carry credentials
/// in clear or over TLS without its checks, naming the setting. Addresses are parsed, not searched: RabbitMQ must be
/// <c>amqps://</c> or <c>rabbitmqs://</c>; MongoDB <c>mongodb://</c> with a <c>tls=true</c> (or <c>ssl=true</c>) query
/// option, or <c>mongodb+srv://</c>, and neither may turn TLS or its certificate and host-name checks off; HTTP addresses
/// and the URLs the process serves on must be <c>https://</c>. Anything else, or a value that is no address, is refused.
/// </summary>
public sealed class PlaintextRefusal(IConfiguration configuration, IReadOnlyList<string> checkedSettings) : IValidateOptions<TransportSecurityOptions>
{
    /// <summary>The setting whose value is the list of URLs a web host serves on.</summary>
    public const string ServerUrls = "urls";

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TransportSecurityOptions options)
    {
        if (!options.RequireTls)
            return ValidateOptionsResult.Success;
        var failures = new List<string>();
        foreach (var setting in checkedSettings)
        {
            if (setting == ServerUrls)
                failures.AddRange(ServedUrls().Where(u => !u.Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                    .Select(u => $"{u.Setting} is '{u.Url}': Security:RequireTls needs https."));
            else if (configuration[setting] is { Length: > 0 } value && Plaintext(value) is { } why)
                failures.Add($"{setting} {why}: Security:RequireTls refuses plaintext where credentials travel.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string? Plaintext(string value)
    {
        if (MongoAddressTls.IsMongoAddress(value))
            return MongoAddressTls.Refusal(value);
        if (!Uri.TryCreate(value, UriKind.Absolute, out var address))
            return "is not an address Security:RequireTls can check";
        return address.Scheme.ToLowerInvariant() switch
        {
            "amqps" or "rabbitmqs" or "https" => null,
            "amqp" or "rabbitmq" => $"uses {address.Scheme}:// (use amqps://)",
            "http" => "uses http:// (use https://)",
            // Not repeated: a value without its scheme reads "user:password@host" as scheme "user".
            _ => "uses a scheme Security:RequireTls does not know to be encrypted (use amqps://, https:// or a MongoDB address with TLS)",
        };
    }

    // What Kestrel binds to, in its own order of precedence: Kestrel:Endpoints, else urls, else http_ports/https_ports,
    // else its plaintext default.
    private IEnumerable<(string Setting, string Url)> ServedUrls()
    {
        var endpoints = configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Where(e => e["Url"] is { Length: > 0 }).Select(e => ($"Kestrel:Endpoints:{e.Key}:Url", e["Url"]!)).ToList();
        if (endpoints.Count > 0)
            return endpoints;
        var urls = Split(configuration[ServerUrls]);
        if (urls.Count > 0)
            return urls.Select(u => (ServerUrls, u));
        var httpPorts = Split(configuration["http_ports"]);
        if (httpPorts.Count > 0)
            return httpPorts.Select(p => ("http_ports", $"http://*:{p}"));
        return Split(configuration["https_ports"]).Count > 0 ? [] : [(ServerUrls, "http://localhost:5000 (Kestrel's default)")];
    }

    private static List<string> Split(string? value) =>
        (value ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
