using Vocab.Security;
using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>
/// The worker and the bridge with their buses on the broker's AMQPS listener (certificate checked against the local
/// CA), and the bridge serving HTTPS with the local CA's certificate.
/// </summary>
public sealed class TlsFixture : WorkerFixture
{
    public static string CaPath => Path.Combine(ServiceAddresses.CertificatesDirectory, "ca.pem");

    public BridgeHost Bridge { get; private set; } = null!;

    public Uri AmqpsUri => new UriBuilder(ServiceAddresses.RabbitMqTls) { Path = "/" + Uri.EscapeDataString(VirtualHost.Name) }.Uri;

    protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
    {
        ["ConnectionStrings:RabbitMq"] = AmqpsUri.ToString(),
        ["RabbitMq:CaCertificatePath"] = CaPath,
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var configuration = WorkerConfiguration();
        configuration["Kestrel:Certificates:Default:Path"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.pem");
        configuration["Kestrel:Certificates:Default:KeyPath"] = Path.Combine(ServiceAddresses.CertificatesDirectory, "bridge.key");
        configuration["Bridge:RequestTimeout"] = "00:00:20";
        Bridge = await BridgeHost.StartAsync(configuration, url: "https://127.0.0.1:0", clientHandler: TrustingTheLocalCa());
        await Bridge.WaitUntilReadyAsync();
    }

    /// <summary>An HTTP handler that trusts the local CA alone, as a caller given ca.pem would.</summary>
    public static SocketsHttpHandler TrustingTheLocalCa() => new()
    {
        SslOptions = { RemoteCertificateValidationCallback = CertificateTrust.Validator(CaPath, "test CA") },
    };

    public override async Task DisposeAsync()
    {
        await Bridge.DisposeAsync();
        await base.DisposeAsync();
    }
}
