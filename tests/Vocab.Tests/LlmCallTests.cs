using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Contracts;
using Vocab.Vocabularies;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// What the worker pays the LLM for, through the real worker, broker, MongoDB and a local OpenAI-compatible endpoint:
/// tolerant parsing, the structured-output request, reuse and single flight, the per-worker cap and provider pauses.
/// </summary>
public sealed class LlmCallTests(LlmCallTests.CappedWorker fixture) : IClassFixture<LlmCallTests.CappedWorker>, IDisposable
{
    public sealed class CappedWorker : WorkerFixture
    {
        public const int MaxCalls = 2;

        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Llm:MaxConcurrentCalls"] = $"{MaxCalls}",
            ["Llm:RetryLimit"] = "2",
            ["Worker:ConcurrentMessageLimit"] = "64",
        };
    }

    private static readonly (string, string, string, string) Good1 = ("fox", "여우", "noun", "The fox runs.");
    private static readonly (string, string, string, string) Good2 = ("jump", "뛰다", "verb", "Foxes jump.");

    public void Dispose() => fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);

    [Fact]
    public async Task Answer_WithMoreItemsThanAsked_KeepsTheFirstOnesForOneCall()
    {
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(4 + 3);
        var (result, calls) = await RequestAsync(WorkerFixture.NewRequest(maxItems: 4));

        Assert.Equal(["word1", "word2", "word3", "word4"], result.Items.Select(i => i.Word));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Answer_WithBlankFieldsAndRepeatedWords_KeepsTheGoodItems()
    {
        var blank = ("blank", " ", "noun", "An example.");
        var repeated = ("FOX", "여우 again", "noun", "Another fox.");
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Text(FakeLlmAnswer.ItemsJson(Good1, blank, repeated, Good2));
        var (result, calls) = await RequestAsync(WorkerFixture.NewRequest(maxItems: 5));

        Assert.Equal(["fox", "jump"], result.Items.Select(i => i.Word));
        Assert.Equal(1, calls);
    }

    [Theory]
    [InlineData("fenced")]
    [InlineData("prose-first")]
    public async Task Answer_WithJsonInsideProse_IsRead(string shape)
    {
        var json = FakeLlmAnswer.ItemsJson(Good1, Good2);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Text(shape == "fenced"
            ? $"Sure! Here is your list:\n```json\n{json}\n```\nEnjoy."
            : $"Here are the words you asked for:\n{json}");
        var (result, calls) = await RequestAsync(WorkerFixture.NewRequest(maxItems: 5));

        Assert.Equal(["fox", "jump"], result.Items.Select(i => i.Word));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Request_AsksForStrictJsonSchema_AndStoresThePromptVersion()
    {
        var request = WorkerFixture.NewRequest();
        await RequestAsync(request);

        var sent = fixture.Llm.Requests.Last().RootElement;
        var format = sent.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        Assert.Equal("array", format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("items").GetProperty("type").GetString());
        var stored = await fixture.Services.GetRequiredService<VocabularyStore>().FindByRequestIdAsync(request.RequestId, default);
        Assert.Equal(Vocabularies.VocabularyPrompt.Version, stored!.PromptVersion);
    }

    [Fact]
    public async Task SameQuestion_FromAnotherUser_IsAnsweredFromTheStoredResultWithoutACall()
    {
        var transcript = $"A transcript two users share. {Guid.NewGuid():N}";
        var (first, firstCalls) = await RequestAsync(WorkerFixture.NewRequest(transcript: transcript), "reuse-alice");
        var second = WorkerFixture.NewRequest(transcript: transcript);
        var (reused, secondCalls) = await RequestAsync(second, "reuse-bob");

        Assert.Equal(1, firstCalls);
        Assert.Equal(0, secondCalls);
        Assert.Equal("reuse-bob", reused.UserId);
        Assert.Equal(first.Items.Select(i => i.Word), reused.Items.Select(i => i.Word));
        Assert.Equal(0, reused.Usage.TotalTokens);
        var stored = await fixture.Services.GetRequiredService<VocabularyStore>().FindByRequestIdAsync(second.RequestId, default);
        Assert.True(stored!.Reused);
        Assert.Equal("reuse-bob", stored.UserId);
    }

    [Fact]
    public async Task FiftyIdenticalRequestsAtOnce_ShareOneCall()
    {
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Slow(TimeSpan.FromMilliseconds(500));
        var transcript = $"Fifty people ask the same thing. {Guid.NewGuid():N}";
        var (_, key) = await fixture.CreateApiKeyAsync("single-flight");
        var before = fixture.Llm.CallCount;

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            fixture.RequestAsync(WorkerFixture.NewRequest(transcript: transcript), c => c.UseApiKey(key), TimeSpan.FromSeconds(60))));

        Assert.All(responses, r => Assert.True(r.Is(out Response<VocabularyGenerated>? _)));
        Assert.Equal(1, fixture.Llm.CallCount - before);
    }

    [Fact]
    public async Task SameQuestion_LookedUpJustBeforeItsAnswerWasStored_ReusesItWithoutACall()
    {
        // A turn ends when its call answers, before the answer is stored: an identical request can look in the store just
        // before the answer lands there and ask for its call just after that call stopped being shared.
        var transcript = $"Asked again a moment later. {Guid.NewGuid():N}";
        var (first, firstCalls) = await RequestAsync(WorkerFixture.NewRequest(transcript: transcript), "lately-alice");
        var before = fixture.Llm.CallCount;

        var source = fixture.Services.GetRequiredService<Vocab.Worker.Llm.VocabularySource>();
        var nothingFound = new RequestLookup(ForRequest: null, Reusable: null);
        var produced = await source.GetAsync(WorkerFixture.NewRequest(transcript: transcript), "lately-bob", model: null, attempt: 1,
            CancellationToken.None, nothingFound);

        Assert.Equal(1, firstCalls);
        Assert.True(produced.Reused);
        Assert.Equal(0, fixture.Llm.CallCount - before);
        Assert.Equal(first.Items.Select(i => i.Word), produced.Vocabulary.Items.Select(i => i.Word));
        Assert.Equal(0, produced.Vocabulary.Usage.TotalTokens);
    }

    [Fact]
    public async Task ManyMessagesAtOnce_NeverExceedTheWorkersCallCap()
    {
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Slow(TimeSpan.FromMilliseconds(300));
        var (_, key) = await fixture.CreateApiKeyAsync("capped");

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key), TimeSpan.FromSeconds(60))));

        Assert.All(responses, r => Assert.True(r.Is(out Response<VocabularyGenerated>? _)));
        Assert.InRange(fixture.Llm.MaxConcurrentCalls, 1, CappedWorker.MaxCalls);
    }

    [Fact]
    public async Task ProviderRateLimit_WithRetryAfter_PausesEveryMessageOfTheWorker()
    {
        var pause = TimeSpan.FromSeconds(2);
        var callsBefore = fixture.Llm.CallCount;
        var linesBefore = fixture.Logs.Lines.Count;
        fixture.Llm.Behaviour = n => n == callsBefore + 1 ? FakeLlmAnswer.RateLimited(pause) : FakeLlmAnswer.Items(3);
        var (_, key) = await fixture.CreateApiKeyAsync("rate-limited");

        var first = fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key), TimeSpan.FromSeconds(60));
        while (fixture.Llm.CallCount == callsBefore)
            await Task.Delay(20);
        var limitedAt = fixture.Llm.CallTimes[callsBefore];
        // The others go once the worker has taken the 429 in (it logs it as it pauses), not merely once the LLM sent it.
        for (var i = 0; i < 1_500 && !fixture.Logs.Lines.Skip(linesBefore).Any(l => l.Contains("HTTP 429", StringComparison.Ordinal)); i++)
            await Task.Delay(20);
        var others = Enumerable.Range(0, 3).Select(_ => fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key), TimeSpan.FromSeconds(60))).ToList();
        var responses = await Task.WhenAll(others.Prepend(first));

        Assert.All(responses, r => Assert.True(r.Is(out Response<VocabularyGenerated>? _)));
        var later = fixture.Llm.CallTimes.Skip(callsBefore + 1).ToList();
        Assert.Equal(4, later.Count);
        Assert.All(later, t => Assert.True(t >= limitedAt + pause, $"a call went out {(t - limitedAt).TotalMilliseconds:0} ms after the 429"));
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("HTTP 429", StringComparison.Ordinal) && l.Contains(fixture.Llm.Endpoint, StringComparison.Ordinal));
    }

    [Fact]
    public void Start_ProbesTheEndpoint_AndSaysSoInOneLine()
    {
        Assert.True(fixture.Llm.ModelListings >= 1);
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("LLM endpoint", StringComparison.Ordinal) && l.Contains(fixture.Llm.Endpoint, StringComparison.Ordinal)
            && l.Contains("(Llm:Endpoint) answered HTTP 200", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoLlmListening_TheProbeSaysWhatToSet_AndEachAttemptLogsOneLine()
    {
        var configuration = fixture.WorkerConfiguration();
        configuration["Llm:Endpoint"] = "http://127.0.0.1:1/v1";
        configuration["Llm:RetryLimit"] = "1";
        configuration["Worker:QueueName"] = "no-llm";
        var logs = new CapturedLogs();
        using var host = WorkerFixture.BuildWorker(configuration, logs);
        await host.StartAsync();
        try
        {
            var (_, key) = await fixture.CreateApiKeyAsync("no-llm-user");
            var client = fixture.Publisher.CreateRequestClient<GenerateVocabulary>(new Uri("queue:no-llm"), RequestTimeout.After(s: 30));
            var response = await client.GetResponse<VocabularyGenerated, GenerateVocabularyRejected>(WorkerFixture.NewRequest(), x => x.UseExecute(c => c.UseApiKey(key)));

            Assert.True(response.Is(out Response<GenerateVocabularyRejected>? rejected));
            Assert.Equal(RejectionReasons.LlmUnavailable, rejected!.Message.Reason);
            Assert.Contains(logs.Lines, l => l.Contains("did not answer", StringComparison.Ordinal) && l.Contains("Llm:Endpoint", StringComparison.Ordinal)
                && l.Contains("Llm:Model", StringComparison.Ordinal) && l.Contains("Llm:ApiKey", StringComparison.Ordinal));
            var attempts = logs.Lines.Where(l => l.Contains("LLM call to", StringComparison.Ordinal) && l.Contains("connection refused", StringComparison.Ordinal)).ToList();
            Assert.True(attempts.Count == 2, string.Join("\n", logs.Lines.Where(l => l.Contains("LLM", StringComparison.Ordinal))));
            Assert.Contains(attempts, l => l.Contains("attempt 1", StringComparison.Ordinal));
            Assert.Contains(attempts, l => l.Contains("attempt 2", StringComparison.Ordinal));
            Assert.All(attempts, l => Assert.DoesNotContain("   at ", l, StringComparison.Ordinal));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private async Task<(VocabularyGenerated Result, int Calls)> RequestAsync(GenerateVocabulary request, string user = "llm-user")
    {
        var (_, key) = await fixture.CreateApiKeyAsync(user);
        var before = fixture.Llm.CallCount;
        var response = await fixture.RequestAsync(request, c => c.UseApiKey(key));
        Assert.True(response.Is(out Response<VocabularyGenerated>? generated), "expected a vocabulary list");
        return (generated!.Message, fixture.Llm.CallCount - before);
    }
}
