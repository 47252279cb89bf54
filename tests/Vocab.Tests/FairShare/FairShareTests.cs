using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.FairShare;

/// <summary>
/// Fair share on the real broker, MongoDB and HTTP LLM endpoint, with two competing workers of two LLM slots each:
/// one user's burst does not hold back other users' requests queued behind it, and two backlogged users are served in
/// their plans' weights. Asserted on the order in which the LLM endpoint received the calls, not on wall-clock times.
/// </summary>
public sealed class FairShareTests(FairShareTests.FairShareWorkers fixture) : IClassFixture<FairShareTests.FairShareWorkers>
{
    private const int SlotsPerWorker = 2;
    private const int Workers = 2;

    /// <summary>Plans without limits (no rate or quota in the way of a burst): weight 1 for users, 3 for premium.</summary>
    public sealed class FairShareWorkers : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Llm:MaxConcurrentCalls"] = SlotsPerWorker.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // A user needs about a second of its calls at hand between parked messages' returns (docs/fair-share.md, sizing).
            ["Worker:ConcurrentMessageLimit"] = "40",
            ["Worker:PrefetchCount"] = "40",
            ["Plans:open:MaxItems"] = "20",
            ["Plans:gold:MaxItems"] = "20",
            ["Plans:gold:Weight"] = "3",
            ["Plans:RoleMap:user"] = "open",
            ["Plans:RoleMap:premium"] = "gold",
        };
    }

    [Fact]
    public async Task Burst_OfOneUser_DoesNotHoldBackOtherUsersQueuedBehindIt_AndIsServedWhole()
    {
        using var second = await fixture.StartAnotherWorkerAsync();
        // Calls slow beside the MongoDB commands a newcomer's first message needs, so the test measures the queue, not them.
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(2) with { Delay = TimeSpan.FromMilliseconds(800) };
        var callsBefore = fixture.Llm.CallCount;
        var (_, burstKey) = await fixture.CreateApiKeyAsync($"burst-{Guid.NewGuid():N}");
        var burst = Enumerable.Range(0, 60).Select(i => WorkerFixture.NewRequest(transcript: $"burst {i} {Guid.NewGuid():N}")).ToList();
        var burstAnswers = burst.Select(r => fixture.RequestAsync(r, c => c.UseApiKey(burstKey), TimeSpan.FromSeconds(60))).ToList();
        await WaitUntilAsync(() => fixture.Llm.CallCount - callsBefore >= Workers * SlotsPerWorker, "the burst filled the LLM slots");

        var light = new List<(GenerateVocabulary Request, int CallsAtSend, Task<Response<VocabularyGenerated, GenerateVocabularyRejected>> Answer)>();
        for (var i = 0; i < 5; i++)
        {
            var (_, key) = await fixture.CreateApiKeyAsync($"light-{i}-{Guid.NewGuid():N}");
            var request = WorkerFixture.NewRequest(transcript: $"light {i} {Guid.NewGuid():N}");
            light.Add((request, fixture.Llm.CallCount, fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromSeconds(60))));
        }
        await Task.WhenAll(light.Select(l => l.Answer));

        // First in, first out, each light request would be about the 55th call after it was sent; with fair share it
        // takes one of the next free slots, a few calls later.
        var calls = fixture.Llm.Requests.Select(r => r.RootElement.GetRawText()).ToList();
        foreach (var (request, callsAtSend, answer) in light)
        {
            Assert.True((await answer).Is(out Response<VocabularyGenerated>? _), "the light request is answered with its list");
            var callIndex = calls.FindIndex(c => c.Contains(request.Transcript, StringComparison.Ordinal));
            Assert.InRange(callIndex - callsAtSend, 0, 20);
        }
        var burstCallsBeforeLastLight = calls.Take(light.Max(l => calls.FindIndex(c => c.Contains(l.Request.Transcript, StringComparison.Ordinal))))
            .Count(c => c.Contains("burst ", StringComparison.Ordinal));
        Assert.InRange(burstCallsBeforeLastLight, 0, 30);

        // Nothing lost, nothing paid twice: every parked request came back and was answered once.
        var answers = await Task.WhenAll(burstAnswers);
        Assert.All(answers, a => Assert.True(a.Is(out Response<VocabularyGenerated>? _)));
        Assert.Equal(65, fixture.Llm.CallCount - callsBefore);
    }

    [Fact]
    public async Task TwoBackloggedUsers_OnPlansOfWeightThreeAndOne_TheHeavierIsServedMore()
    {
        using var second = await fixture.StartAnotherWorkerAsync();
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(2) with { Delay = TimeSpan.FromMilliseconds(100) };
        var callsBefore = fixture.Llm.CallCount;
        var (_, goldKey) = await fixture.CreateApiKeyAsync($"gold-{Guid.NewGuid():N}", role: Roles.Premium);
        var (_, openKey) = await fixture.CreateApiKeyAsync($"open-{Guid.NewGuid():N}");
        // Same-sized transcripts: the same tokens per call, so the share of calls is the share of tokens.
        var requests = Enumerable.Range(0, 80).SelectMany(i => new[]
        {
            (Key: goldKey, Request: WorkerFixture.NewRequest(transcript: $"gold {i:D3} {Guid.NewGuid():N}")),
            (Key: openKey, Request: WorkerFixture.NewRequest(transcript: $"open {i:D3} {Guid.NewGuid():N}")),
        }).ToList();

        var answers = await Task.WhenAll(requests.Select(r => fixture.RequestAsync(r.Request, c => c.UseApiKey(r.Key), TimeSpan.FromSeconds(90))));

        Assert.All(answers, a => Assert.True(a.Is(out Response<VocabularyGenerated>? _)));
        // While both are backlogged (the first 80 calls: gold alone would need 80), gold has three calls to open's one.
        var calls = fixture.Llm.Requests.Skip(callsBefore).Select(r => r.RootElement.GetRawText()).ToList();
        Assert.Equal(160, calls.Count);
        var window = calls.Skip(Workers * SlotsPerWorker).Take(60).ToList();
        var gold = window.Count(c => c.Contains("gold ", StringComparison.Ordinal));
        var open = window.Count(c => c.Contains("open ", StringComparison.Ordinal));
        // Weighted, not first in, first out (which alternates, 1:1): at this size (two workers of two turns, parked
        // messages back at whole seconds) and on a loaded CI machine the ratio has been seen from 1.6 to 3; the benchmark
        // part `fairness` measures it at full size.
        var sequence = string.Concat(calls.Select(c => c.Contains("gold ", StringComparison.Ordinal) ? 'g' : 'o'));
        Assert.True(gold / (double)Math.Max(1, open) is >= 1.4 and <= 4.5, $"gold {gold}, open {open} of the window; calls in order: {sequence}; most calls at once {fixture.Llm.MaxConcurrentCalls}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
                throw new TimeoutException($"not {what} in 30 s");
            await Task.Delay(20);
        }
    }
}
