namespace Vocab.TestSupport;

/// <summary>
/// Where the real services are, as exported by scripts/services.sh (source .services/env). Tests start nothing
/// themselves; a missing address fails the test with the command that fixes it.
/// </summary>
public static class ServiceAddresses
{
    public static Uri RabbitMq => Required("VOCAB_RABBITMQ_URI");

    public static Uri RabbitMqManagement => Required("VOCAB_RABBITMQ_MANAGEMENT_URI");

    public static string Mongo => Required("VOCAB_MONGO_URI").ToString();

    /// <summary>The broker's AMQPS listener, whose certificate the local CA issued for <c>localhost</c>.</summary>
    public static Uri RabbitMqTls => Required("VOCAB_RABBITMQ_TLS_URI");

    /// <summary>scripts/certs.sh's output: ca.pem, bridge.pem/.key, client.pem/.key.</summary>
    public static string CertificatesDirectory => Required("VOCAB_CERTS_DIR").LocalPath;

    private static Uri Required(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException(
                $"{name} is not set. Start the services and export their addresses first: scripts/services.sh up && source .services/env (or run scripts/test.sh).");
        }
        return new Uri(value);
    }
}
