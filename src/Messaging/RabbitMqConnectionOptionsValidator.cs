using Microsoft.Extensions.Options;

namespace Vocab.Messaging;

/// <summary>Fails start-up, naming the setting, when <c>RabbitMq:*</c> could not describe a connection.</summary>
public sealed class RabbitMqConnectionOptionsValidator : IValidateOptions<RabbitMqConnectionOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RabbitMqConnectionOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.Hosts.Length; i++)
        {
            if (!IsNode(options.Hosts[i]))
                failures.Add($"RabbitMq:Hosts:{i} ('{options.Hosts[i]}') must be host or host:port (port 1-65535).");
        }
        RequireFile(options.CaCertificatePath, "RabbitMq:CaCertificatePath", failures);
        RequireFile(options.ClientCertificatePath, "RabbitMq:ClientCertificatePath", failures);
        RequireFile(options.ClientKeyPath, "RabbitMq:ClientKeyPath", failures);
        if (!string.IsNullOrWhiteSpace(options.ClientKeyPath) && string.IsNullOrWhiteSpace(options.ClientCertificatePath))
            failures.Add("RabbitMq:ClientKeyPath is set without RabbitMq:ClientCertificatePath, the certificate it is the key of.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void RequireFile(string? path, string setting, List<string> failures)
    {
        if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
            failures.Add($"{setting} names '{path}', which is not a readable file.");
    }

    private static bool IsNode(string? node)
    {
        if (string.IsNullOrWhiteSpace(node) || node.Contains("://", StringComparison.Ordinal))
            return false;
        return Uri.TryCreate("amqp://" + node.Trim(), UriKind.Absolute, out var uri) && uri.AbsolutePath == "/" &&
               string.IsNullOrEmpty(uri.UserInfo) && uri.Port is > 0 and <= 65535;
    }
}
