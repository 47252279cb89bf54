using Microsoft.Extensions.Configuration;
using Vocab.Security;

namespace Vocab.Tests;

/// <summary>
/// <c>Security:RequireTls</c> reads each address as an address: every way of downgrading a broker, MongoDB or HTTP address
/// to plaintext (or to TLS without its checks) is refused, naming the setting and what in it is wrong.
/// </summary>
public sealed class PlaintextRefusalTests
{
    private const string RabbitMq = "ConnectionStrings:RabbitMq";
    private const string Mongo = "ConnectionStrings:Mongo";
    private const string Llm = "Llm:Endpoint";

    [Theory]
    [InlineData("amqp://vocab-worker:pw@broker:5672/", "uses amqp://")]
    [InlineData("AMQP://vocab-worker:pw@broker/", "uses amqp://")]
    [InlineData("rabbitmq://vocab-worker:pw@broker/", "uses rabbitmq://")]
    [InlineData("RabbitMQ://broker/vhost", "uses rabbitmq://")]
    // Port 5671 does not make a plaintext scheme an encrypted one in the setting's own words.
    [InlineData("amqp://vocab-worker:pw@broker:5671/", "uses amqp://")]
    [InlineData("ws://broker:15675/", "does not know to be encrypted")]
    [InlineData("vocab-worker:s3cret@broker", "does not know to be encrypted")]
    [InlineData("s3cret broker", "is not an address")]
    public void RabbitMq_PlaintextOrUnknown_IsRefused(string address, string why) =>
        AssertRefused(RabbitMq, address, why);

    [Theory]
    [InlineData("amqps://vocab-worker:pw@broker:5671/")]
    [InlineData("AMQPS://broker/vhost")]
    [InlineData("rabbitmqs://vocab-worker:pw@broker/")]
    [InlineData("RabbitMQs://broker:5671/vhost")]
    public void RabbitMq_Tls_Passes(string address) => AssertPasses(RabbitMq, address);

    [Theory]
    [InlineData("mongodb://db:27017", "without tls=true")]
    [InlineData("mongodb://db:27017/vocab", "without tls=true")]
    [InlineData("mongodb://db/?tls=false", "tls=false")]
    [InlineData("mongodb://db/?TLS=FALSE", "TLS=FALSE")]
    [InlineData("mongodb://db/?ssl=false", "ssl=false")]
    [InlineData("mongodb://db/?tls=true&ssl=false", "ssl=false")]
    [InlineData("mongodb://db/?tls=yes", "tls=(not true or false)")]
    [InlineData("mongodb+srv://cluster.example/?tls=false", "tls=false")]
    [InlineData("mongodb+srv://cluster.example/vocab?retryWrites=true&Ssl=False", "Ssl=False")]
    [InlineData("mongodb://db/?tls=true&tlsInsecure=true", "tlsInsecure=true")]
    [InlineData("mongodb://db/?tls=true&TLSINSECURE=TRUE", "TLSINSECURE=TRUE")]
    [InlineData("mongodb://db/?tls=true&tlsAllowInvalidCertificates=true", "tlsAllowInvalidCertificates=true")]
    [InlineData("mongodb://db/?tls=true&tlsallowinvalidcertificates=True", "tlsallowinvalidcertificates=True")]
    [InlineData("mongodb://db/?tls=true&tlsAllowInvalidHostnames=true", "tlsAllowInvalidHostnames=true")]
    [InlineData("mongodb+srv://cluster.example/?TlsAllowInvalidHostnames=true", "TlsAllowInvalidHostnames=true")]
    [InlineData("mongodb://db/?tls=true&tlsInsecure", "tlsInsecure=(not true or false)")]
    [InlineData("mongodb://db/?ssl=true&sslVerifyCertificate=false", "sslVerifyCertificate=false")]
    // tls=true anywhere but in a real query option turns nothing on.
    [InlineData("mongodb://vocab:tls=true@db:27017/", "without tls=true")]
    [InlineData("mongodb://vocab:p%3Ftls%3Dtrue@db:27017/", "without tls=true")]
    [InlineData("mongodb://vocab:pw@db:27017/tls=true", "without tls=true")]
    [InlineData("mongodb://db/vocab?appName=tls=true", "without tls=true")]
    [InlineData("mongodb://vocab:pw?tls=true@db/", "options not after a '/'")]
    public void Mongo_WithoutCheckedTls_IsRefused(string address, string why) =>
        AssertRefused(Mongo, address, why);

    [Theory]
    [InlineData("mongodb://db:27017/?tls=true")]
    [InlineData("MONGODB://db/?TLS=True")]
    [InlineData("mongodb://db/?ssl=true")]
    [InlineData("mongodb://vocab:p%40ss@db/vocab?authSource=admin&tls=true")]
    [InlineData("mongodb://mongo-1:27017,mongo-2:27017,mongo-3:27017/?replicaSet=rs0&tls=true")]
    [InlineData("mongodb://db/?tls=true&tlsInsecure=false&tlsAllowInvalidHostnames=false")]
    // mongodb+srv:// has TLS on by default.
    [InlineData("mongodb+srv://cluster.example/")]
    [InlineData("mongodb+srv://vocab:pw@cluster.example/vocab?retryWrites=true")]
    [InlineData("mongodb+srv://cluster.example/?tls=true")]
    public void Mongo_WithCheckedTls_Passes(string address) => AssertPasses(Mongo, address);

    [Theory]
    [InlineData("http://llm.example/v1", "uses http://")]
    [InlineData("HTTP://llm.example/v1", "uses http://")]
    [InlineData("ftp://llm.example/v1", "does not know to be encrypted")]
    public void Http_Plaintext_IsRefused(string address, string why) => AssertRefused(Llm, address, why);

    [Fact]
    public void Http_Https_Passes() => AssertPasses(Llm, "https://llm.example/v1");

    [Fact]
    public void Refusal_NeverRepeatsThePassword()
    {
        var errors = Validate(Mongo, "mongodb://vocab:s3cret-tls=true@db:27017/?tls=s3cret");

        Assert.DoesNotContain("s3cret", string.Join(" ", errors), StringComparison.Ordinal);
    }

    [Fact]
    public void RequireTlsOff_AcceptsPlaintext()
    {
        var refusal = new PlaintextRefusal(Configuration(RabbitMq, "amqp://broker/"), [RabbitMq]);

        Assert.True(refusal.Validate(null, new TransportSecurityOptions { RequireTls = false }).Succeeded);
    }

    private static void AssertRefused(string setting, string address, string why)
    {
        var error = Assert.Single(Validate(setting, address));
        Assert.StartsWith(setting + " ", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
        Assert.Contains("Security:RequireTls", error, StringComparison.Ordinal);
    }

    private static void AssertPasses(string setting, string address) => Assert.Empty(Validate(setting, address));

    private static IEnumerable<string> Validate(string setting, string address)
    {
        var result = new PlaintextRefusal(Configuration(setting, address), [setting]).Validate(null, new TransportSecurityOptions { RequireTls = true });
        return result.Succeeded ? [] : result.Failures!;
    }

    private static IConfiguration Configuration(string setting, string value) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [setting] = value }).Build();
}
