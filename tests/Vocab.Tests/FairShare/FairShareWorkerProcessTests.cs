using MassTransit;
using MongoDB.Driver;
using RabbitMQ.Client.Exceptions;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Tests.Cluster;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests.FairShare;

/// <summary>
/// Fair share across worker processes (the production entry point) on the real broker: light users' requests are served
/// within a few calls of being sent while one user's burst runs, before and after one of the workers is killed (its
/// counters were in memory: the others go on sharing fairly), and every request is answered and stored once.
/// Asserted on the order in which the LLM endpoint received the calls, not on wall-clock times.
/// </summary>
public sealed class FairShareWorkerProcessTests(FairShareWorkerProcessTests.Workers fixture) : IClassFixture<FairShareWorkerProcessTests.Workers>
{
    private const int SlotsPerWorker = 2;
    private const int WorkerCount = 3;
    private const int MessagesPerWorker = 40;
    private const int BurstSize = 150;
    private const int LightUsersPerPhase = 5;
    // With fair share a light request takes one of the next free turns; first in, first out it would wait for the
    // burst's messages queued ahead of it (over 100 calls).
    private const int MostCallsBeforeALightOne = 20;

    /// <summary>The broker, database and LLM endpoint of a worker fixture whose own in-process worker is stopped.</summary>
    public sealed class Workers : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Llm:MaxConcurrentCalls"] = SlotsPerWorker.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:ConcurrentMessageLimit"] = MessagesPerWorker.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:PrefetchCount"] = MessagesPerWorker.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Plans:open:MaxItems"] = "20",
            ["Plans:RoleMap:user"] = "open",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            // Kept for its services (keys, the store); the worker processes do the consuming.
            await Worker.StopAsync();
        }

        /// <summary>Starts the worker processes and waits until each consumes the input queue.</summary>
        public async Task<IReadOnlyList<WorkerProcess>> StartProcessesAsync(int count)
        {
            var processes = Enumerable.Range(0, count).Select(_ =>
            {
                var configuration = WorkerConfiguration();
                configuration["Health:FilePath"] = Path.Combine(Path.GetTempPath(), $"vocab-worker-healthy-{Guid.NewGuid():N}");
                return WorkerProcess.Start(configuration);
            }).ToList();
            await WaitUntilAsync(async () => await ConsumersAsync() >= count, $"{count} worker processes consuming", processes);
            return processes;
        }

        public async Task<uint> ConsumersAsync()
        {
            await using var channel = await Amqp.CreateChannelAsync();
            return (await channel.QueueDeclarePassiveAsync(QueueName)).ConsumerCount;
        }

        /// <summary>Messages on the input queue's failure queues (error, refused, skipped, quarantine).</summary>
        public async Task<uint> FailedAsync()
        {
            uint failed = 0;
            foreach (var queue in new[] { QueueNames.Error(QueueName), QueueNames.Refused(QueueName), QueueNames.Skipped(QueueName), QueueNames.Quarantine(QueueName) })
                failed += await MessagesInAsync(queue);
            return failed;
        }

        private async Task<uint> MessagesInAsync(string queue)
        {
            // The worker declares a failure queue when it first sends to it: none declared, none sent.
            await using var channel = await Amqp.CreateChannelAsync();
            try
            {
                return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                return 0;
            }
        }
    }

    [Fact]
    public async Task Burst_WhileAWorkerProcessDies_OtherUsersAreServedWithinAFewCalls_AndEveryRequestOnce()
    {
        var processes = await fixture.StartProcessesAsync(WorkerCount);
        try
        {
            // Calls slow beside the MongoDB commands a newcomer's first message needs, so the test measures the queue, not them.
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(2) with { Delay = TimeSpan.FromMilliseconds(600) };
            var callsBefore = fixture.Llm.CallCount;
            var (_, burstKey) = await fixture.CreateApiKeyAsync($"burst-{Guid.NewGuid():N}");
            var burst = Enumerable.Range(0, BurstSize).Select(i => WorkerFixture.NewRequest(transcript: $"burst {i} {Guid.NewGuid():N}")).ToList();
            var burstAnswers = burst.Select(r => fixture.RequestAsync(r, c => c.UseApiKey(burstKey), TimeSpan.FromMinutes(3))).ToList();
            await WaitUntilAsync(() => Task.FromResult(fixture.Llm.CallCount - callsBefore >= WorkerCount * SlotsPerWorker), "the burst filled the LLM slots", processes);

            var beforeDeath = await SendLightRequestsAsync("before");
            AssertServedWithinAFewCalls(await AnsweredAsync(beforeDeath), "before a worker died");

            // SIGKILL: its held messages go back to the queue, its counters are gone; the parked ones are the broker's.
            processes[0].Kill();
            await WaitUntilAsync(async () => await fixture.ConsumersAsync() == WorkerCount - 1, "the dead worker's consumer gone", processes);
            var afterDeath = await SendLightRequestsAsync("after");
            AssertServedWithinAFewCalls(await AnsweredAsync(afterDeath), "after a worker died");

            var answers = await Task.WhenAll(burstAnswers);
            Assert.All(answers, a => Assert.True(a.Is(out Response<VocabularyGenerated>? _), "every burst request is answered with its list"));
            // One stored answer per request, none missing; nothing failed or refused.
            var requestIds = burst.Concat(beforeDeath.Concat(afterDeath).Select(l => l.Request)).Select(r => r.RequestId.ToString("D")).ToList();
            var stored = await fixture.Database.GetCollection<VocabularyDocument>(VocabularyStore.CollectionName)
                .Find(Builders<VocabularyDocument>.Filter.In(d => d.RequestId, requestIds)).ToListAsync();
            Assert.Equal(requestIds.Order(), stored.Select(d => d.RequestId).Order());
            Assert.Equal(0u, await fixture.FailedAsync());
            // A call per request, plus at most what the killed worker held between its call and its stored answer
            // (those requests were served again by the others).
            Assert.InRange(fixture.Llm.CallCount - callsBefore, requestIds.Count, requestIds.Count + MessagesPerWorker);
        }
        finally
        {
            foreach (var process in processes)
                process.Dispose();
        }
    }

    private async Task<List<LightRequest>> SendLightRequestsAsync(string phase)
    {
        var light = new List<LightRequest>();
        for (var i = 0; i < LightUsersPerPhase; i++)
        {
            var (_, key) = await fixture.CreateApiKeyAsync($"light-{phase}-{i}-{Guid.NewGuid():N}");
            var request = WorkerFixture.NewRequest(transcript: $"light {phase} {i} {Guid.NewGuid():N}");
            light.Add(new LightRequest(request, fixture.Llm.CallCount, fixture.RequestAsync(request, c => c.UseApiKey(key), TimeSpan.FromMinutes(2))));
        }
        return light;
    }

    private static async Task<List<LightRequest>> AnsweredAsync(List<LightRequest> light)
    {
        foreach (var request in light)
            Assert.True((await request.Answer).Is(out Response<VocabularyGenerated>? _), "the light request is answered with its list");
        return light;
    }

    private void AssertServedWithinAFewCalls(List<LightRequest> light, string when)
    {
        var calls = fixture.Llm.Requests.Select(r => r.RootElement.GetRawText()).ToList();
        var sequence = string.Concat(calls.Select(c => c.Contains("light ", StringComparison.Ordinal) ? 'L' : c.Contains("burst ", StringComparison.Ordinal) ? 'b' : '.'));
        foreach (var request in light)
        {
            var callIndex = calls.FindIndex(c => c.Contains(request.Request.Transcript, StringComparison.Ordinal));
            Assert.True(callIndex >= request.CallsAtSend && callIndex - request.CallsAtSend <= MostCallsBeforeALightOne,
                $"{when}: a light request sent at call {request.CallsAtSend} was call {callIndex}; calls in order: {sequence}");
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, IReadOnlyList<WorkerProcess> processes)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not {what} in 90 s; workers: {string.Join(Environment.NewLine, processes.Select(p => $"pid {p.Id}{(p.HasExited ? " exited" : "")}: {p.Complaints}"))}");
            await Task.Delay(50);
        }
    }

    private sealed record LightRequest(GenerateVocabulary Request, int CallsAtSend, Task<Response<VocabularyGenerated, GenerateVocabularyRejected>> Answer);
}
