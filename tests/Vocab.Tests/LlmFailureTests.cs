using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>LLM timeouts, errors and unusable answers are retried, then dead-lettered with their reason.</summary>
public sealed class LlmFailureTests(LlmFailureTests.ShortTimeoutWorker fixture) : IClassFixture<LlmFailureTests.ShortTimeoutWorker>
{
    public sealed class ShortTimeoutWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            // Long enough that a loaded CI machine still delivers every attempt to the endpoint; "slow" answers later still.
            ["Llm:Timeout"] = "00:00:02",
            ["Llm:RetryLimit"] = "2",
            ["Llm:MaxProviderPause"] = "00:00:01",
        };
    }

    [Theory]
    [InlineData("1e300")]
    [InlineData("Infinity")]
    [InlineData("99999999999999999999999")]
    public async Task ProviderAsksForAnAbsurdWait_TheWaitIsClamped_AndTheRequestIsServed(string retryAfter)
    {
        var callsBefore = fixture.Llm.CallCount;
        fixture.Llm.Behaviour = n => n == callsBefore + 1
            ? new FakeLlmAnswer(429, "", TimeSpan.Zero, new Dictionary<string, string> { ["Retry-After"] = retryAfter, ["x-ratelimit-reset-tokens"] = "99999999999999h" })
            : FakeLlmAnswer.Items(3);
        var (_, key) = await fixture.CreateApiKeyAsync($"absurd-wait-{Guid.NewGuid():N}");

        var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key), TimeSpan.FromSeconds(60));

        Assert.True(response.Is(out MassTransit.Response<VocabularyGenerated>? _));
        Assert.True(fixture.Llm.CallCount >= callsBefore + 2);
    }

    [Theory]
    [InlineData("slow", RejectionReasons.LlmUnavailable)]
    [InlineData("server-error", RejectionReasons.LlmUnavailable)]
    [InlineData("garbage", RejectionReasons.LlmInvalidOutput)]
    public async Task LlmFailure_IsRetriedThenDeadLetteredWithReason(string failure, string expectedReason)
    {
        fixture.Llm.Behaviour = failure switch
        {
            "slow" => _ => FakeLlmAnswer.Slow(TimeSpan.FromSeconds(6)),
            "server-error" => _ => FakeLlmAnswer.ServerError,
            _ => _ => FakeLlmAnswer.Garbage,
        };
        var (keyId, key) = await fixture.CreateApiKeyAsync($"user-{failure}");
        var request = WorkerFixture.NewRequest(maxItems: 5);
        var callsBefore = fixture.Llm.CallCount;

        var response = await fixture.RequestAsync(request, c => c.UseApiKey(key));

        Assert.True(response.Is(out MassTransit.Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(expectedReason, rejected!.Message.Reason);
        var deadLetter = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.ErrorQueueName, request.RequestId);
        // Transport failures: first attempt + Llm:RetryLimit retries. Unusable answers: first + Llm:InvalidOutputRetryLimit (1).
        // Every attempt was made before the dead-letter; on a loaded machine the last may reach the endpoint a little
        // after the worker gave up on it.
        var expectedCalls = callsBefore + (expectedReason == RejectionReasons.LlmInvalidOutput ? 2 : 3);
        for (var waited = 0; fixture.Llm.CallCount < expectedCalls && waited < 100; waited++)
            await Task.Delay(100);
        Assert.Equal(expectedCalls, fixture.Llm.CallCount);
        Assert.Equal(expectedReason, deadLetter.Header(VocabHeaders.Reason));
        Assert.Equal($"user-{failure}", deadLetter.Header(VocabHeaders.UserId));
        Assert.Equal(keyId, deadLetter.Header(VocabHeaders.KeyId));
        Assert.DoesNotContain(key, deadLetter.AllText, StringComparison.Ordinal);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
    }

    [Fact]
    public async Task InvalidRequest_IsNotRetriedAndNeverReachesTheLlm()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("user-invalid");
        var request = WorkerFixture.NewRequest(maxItems: 0);
        var callsBefore = fixture.Llm.CallCount;
        var messageId = MassTransit.NewId.NextGuid();

        var response = await fixture.RequestAsync(request, c =>
        {
            c.MessageId = messageId;
            c.UseApiKey(key);
        });

        Assert.True(response.Is(out MassTransit.Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.InvalidRequest, rejected!.Message.Reason);
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
        // Refused whenever it comes, so never replayed: filed metadata only, on the bounded refused queue.
        var deadLetter = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);
        Assert.Empty(deadLetter.Body);
        Assert.Equal(RejectionReasons.InvalidRequest, deadLetter.Header(VocabHeaders.Reason));
        Assert.Null(deadLetter.Header("MT-Fault-RetryCount") is { } retries && retries != "0" ? retries : null);
    }
}
