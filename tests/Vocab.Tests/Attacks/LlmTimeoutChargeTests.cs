using Microsoft.Extensions.DependencyInjection;
using Vocab.Contracts;
using Vocab.Plans;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests.Attacks;

/// <summary>
/// A publisher asking for answers too long to finish within <c>Llm:Timeout</c>: the provider generates (and bills) each
/// call the worker gave up on. Those calls are charged to the caller's month, so timing out buys no free tokens; and a
/// refusal the provider would repeat (a 4xx) is not asked again.
/// </summary>
public sealed class LlmTimeoutChargeTests(LlmTimeoutChargeTests.MeteredWorker fixture) : IClassFixture<LlmTimeoutChargeTests.MeteredWorker>
{
    public sealed class MeteredWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Llm:Timeout"] = "00:00:02",
            ["Llm:RetryLimit"] = "1",
            ["Plans:metered:MonthlyTokens"] = "10000000",
            ["Plans:RoleMap:user"] = "metered",
        };
    }

    [Fact]
    public async Task EveryCallThatTimedOut_IsChargedItsReservation_WhenTheRequestFails()
    {
        var user = $"timeout-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var request = WorkerFixture.NewRequest(maxItems: 50);
        var estimate = fixture.Services.GetRequiredService<RequestTokenEstimator>().Estimate(request);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Slow(TimeSpan.FromSeconds(6));
        try
        {
            var response = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));

            Assert.True(response.Is(out MassTransit.Response<GenerateVocabularyRejected>? rejected));
            Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
            var usage = await WaitForUsageAsync(user, u => u.ReservedTokens == 0);
            // The first call and its one retry, each allowed its whole reservation: neither is given back.
            Assert.Equal(2 * estimate, usage.UsedTokens);
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    [Fact]
    public async Task ACallThatTimedOut_IsChargedToo_WhenItsRetryIsServed()
    {
        var user = $"timeout-then-served-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var request = WorkerFixture.NewRequest(maxItems: 50);
        var estimate = fixture.Services.GetRequiredService<RequestTokenEstimator>().Estimate(request);
        var callsBefore = fixture.Llm.CallCount;
        fixture.Llm.Behaviour = n => n == callsBefore + 1 ? FakeLlmAnswer.Slow(TimeSpan.FromSeconds(6)) : FakeLlmAnswer.Items(3);
        try
        {
            var response = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));

            Assert.True(response.Is(out MassTransit.Response<VocabularyGenerated>? _));
            var usage = await WaitForUsageAsync(user, u => u.ReservedTokens == 0);
            // The timed-out call's reservation plus the served call's own usage (the stand-in reports 33 tokens).
            Assert.Equal(estimate + 33, usage.UsedTokens);
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    [Fact]
    public async Task AProviderRefusal_IsNotAskedAgain_AndCostsNothing()
    {
        var user = $"provider-refusal-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var callsBefore = fixture.Llm.CallCount;
        fixture.Llm.Behaviour = _ => new FakeLlmAnswer(400, "", TimeSpan.Zero);
        try
        {
            var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key), TimeSpan.FromSeconds(60));

            Assert.True(response.Is(out MassTransit.Response<GenerateVocabularyRejected>? rejected));
            Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
            Assert.Equal(callsBefore + 1, fixture.Llm.CallCount);
            var usage = await WaitForUsageAsync(user, u => u.ReservedTokens == 0);
            Assert.Equal(0, usage.UsedTokens);
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    // The reservation ends just after the answer is sent: wait for it rather than read the month mid-settlement.
    private async Task<UsageDocument> WaitForUsageAsync(string user, Func<UsageDocument, bool> settled)
    {
        var ledger = fixture.Services.GetRequiredService<QuotaLedger>();
        for (var attempt = 0; ; attempt++)
        {
            var usage = await ledger.GetAsync(user, UsageMonth.Of(DateTimeOffset.UtcNow), default);
            if (settled(usage) && usage.Requests > 0 || attempt >= 100)
                return usage;
            await Task.Delay(100);
        }
    }
}
