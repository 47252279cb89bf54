using Vocab.Worker.DeadLetter;

namespace Vocab.Tests;

/// <summary>Exception text on a dead-letter copy loses a credential it holds; the worker's identity headers are left as proven.</summary>
public sealed class ExceptionHeaderTextTests
{
    private const string PresentedKey = "vocab_0123456789ab_Zm9yZ2VkLXNlY3JldC12YWx1ZQ";

    [Theory]
    [InlineData("MT-Fault-Message", "lookup failed for " + PresentedKey, true)]
    [InlineData("MT-Fault-StackTrace", "at X.Y(token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln)", true)]
    [InlineData("MT-Fault-Message", "The LLM call failed: HTTP 500.", false)]
    [InlineData("Vocab-User-Id", PresentedKey, false)]
    public void ExceptionText_HoldingACredential_IsRemoved(string header, string text, bool removed)
    {
        var detector = new CredentialDetector();
        detector.Add(PresentedKey);

        var written = ExceptionHeaderText.Checked(header, text, detector);

        Assert.Equal(removed ? ExceptionHeaderText.Removed : text, written);
    }
}
