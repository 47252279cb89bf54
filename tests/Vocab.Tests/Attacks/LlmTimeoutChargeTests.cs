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
        var (response, usage, estimate, _) = await RequestAsync("timeout", _ => FakeLlmAnswer.Slow(TimeSpan.FromSeconds(6)));

        Assert.True(response.Is(out MassTransit.Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
        // The first call and its one retry, each allowed its whole reservation: neither is given back.
        Assert.Equal(2 * estimate, usage.UsedTokens);
    }

    [Fact]
    public async Task ACallThatTimedOut_IsChargedToo_WhenItsRetryIsServed()
    {
        var (response, usage, estimate, _) = await RequestAsync("timeout-then-served",
            call => call == 1 ? FakeLlmAnswer.Slow(TimeSpan.FromSeconds(6)) : FakeLlmAnswer.Items(3));

        Assert.True(response.Is(out MassTransit.Response<VocabularyGenerated>? _));
        // The timed-out call's reservation plus the served call's own usage (the stand-in reports 33 tokens).
        Assert.Equal(estimate + 33, usage.UsedTokens);
    }

    [Fact]
    public async Task AProviderRefusal_IsNotAskedAgain_AndCostsNothing()
    {
        var (response, usage, _, calls) = await RequestAsync("provider-refusal", _ => new FakeLlmAnswer(400, "", TimeSpan.Zero));

        Assert.True(response.Is(out MassTransit.Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
        Assert.Equal(1, calls);
        Assert.Equal(0, usage.UsedTokens);
    }

    /// <summary>
    /// One request of a new user while the LLM stand-in answers its <c>call</c>-th call (from 1) as <paramref name="answer"/>
    /// says: the answer, the user's month once the reservation ended, the request's reservation and the calls made.
    /// </summary>
    private async Task<(MassTransit.Response<VocabularyGenerated, GenerateVocabularyRejected> Response, UsageDocument Usage, long Estimate, int Calls)>
        RequestAsync(string userPrefix, Func<int, FakeLlmAnswer> answer)
    {
        var user = $"{userPrefix}-{Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var request = WorkerFixture.NewRequest(maxItems: 50);
        var estimate = fixture.Services.GetRequiredService<RequestTokenEstimator>().Estimate(request);
        var callsBefore = fixture.Llm.CallCount;
        fixture.Llm.Behaviour = n => answer(n - callsBefore);
        try
        {
            var response = await fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
            var usage = await WaitForUsageAsync(user, u => u.ReservedTokens == 0);
            return (response, usage, estimate, fixture.Llm.CallCount - callsBefore);
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
