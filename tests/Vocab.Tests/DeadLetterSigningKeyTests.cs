using System.Text;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging.DeadLetters;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>The dead-letter signing key: rotation keeps old copies verifiable, and a missing or short key stops at start, named.</summary>
public sealed class DeadLetterSigningKeyTests
{
    private const string OldKey = "the-old-dead-letter-signing-key-0123456789abcdef";
    private const string NewKey = "the-new-dead-letter-signing-key-0123456789abcdef";

    [Fact]
    public void CopySignedBeforeARotation_VerifiesWhileItsKeyIsListedAsPrevious_AndNotAfter()
    {
        var (properties, body) = SignedCopy(Signer(OldKey, "2025"));

        var rotated = Signer(NewKey, "2026", new DeadLetterVerificationKey { Id = "2025", Secret = OldKey });
        var retired = Signer(NewKey, "2026");

        Assert.Null(rotated.WhyUnverified(properties, body));
        Assert.Contains("'2025'", retired.WhyUnverified(properties, body), StringComparison.Ordinal);
    }

    [Fact]
    public void CopySignedUnderAnotherSecret_WithTheSameKeyId_IsUnverified()
    {
        var (properties, body) = SignedCopy(Signer(OldKey, "primary"));

        Assert.Contains("does not match", Signer(NewKey, "primary").WhyUnverified(properties, body), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "DeadLetter:SigningKey is required")]
    [InlineData("short-key", "DeadLetter:SigningKey must be at least 32 bytes")]
    public void Options_WithoutAUsableKey_FailNamingTheSetting(string? key, string expected)
    {
        var result = new DeadLetterSigningOptionsValidator().Validate(null, new DeadLetterSigningOptions { SigningKey = key ?? "" });

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VocabCtlDlq_WithoutTheSigningKey_FailsNamingIt()
    {
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/",
            ["ConnectionStrings:Mongo"] = "mongodb://127.0.0.1:1",
            ["Security:RequireTls"] = "false",
        };
        foreach (var (name, value) in new TestTokens().Configuration())
            configuration[name] = value;
        configuration.Remove("DeadLetter:SigningKey");

        var result = await VocabCtlRunner.RunWithAsync(configuration, "dlq", "ingest");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("DeadLetter:SigningKey", result.Error, StringComparison.Ordinal);
    }

    private static DeadLetterSigner Signer(string key, string keyId, params DeadLetterVerificationKey[] previous) =>
        new(Options.Create(new DeadLetterSigningOptions { SigningKey = key, SigningKeyId = keyId, PreviousKeys = [.. previous] }));

    private static (BasicProperties Properties, byte[] Body) SignedCopy(DeadLetterSigner signer)
    {
        var body = Encoding.UTF8.GetBytes("""{"videoId":"v"}""");
        var properties = new BasicProperties
        {
            MessageId = "m-1",
            Headers = new Dictionary<string, object?>
            {
                [VocabHeaders.DeadLetterId] = Guid.NewGuid().ToString(),
                [VocabHeaders.Reason] = RejectionReasons.LlmUnavailable,
                [VocabHeaders.UserId] = "u-1",
                [VocabHeaders.Role] = "user",
            },
        };
        signer.Sign(properties, body);
        return (properties, body);
    }
}
