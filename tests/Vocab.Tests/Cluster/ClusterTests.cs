using System.Net;
using MongoDB.Driver;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.Cluster;

/// <summary>
/// Worker processes on quorum queues of a three-node cluster: competing workers answer every request once, a worker
/// killed mid-load loses nothing, and neither does stopping the node that leads the input queue. Run by
/// scripts/test-cluster.sh (CI runs it too), which prints what the node-loss test measured.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class ClusterTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private const string Queue = "generate-vocabulary";
    private const int Workers = 3;
    private const int Requests = 3000;
    private const int Concurrency = 64;
    private const int BridgeRequests = 300;
    private const int BridgeRequestsAfterLoss = 20;

    [Fact]
    public async Task ThreeWorkerProcesses_EveryRequestAnsweredOnce_NothingDeadLettered()
    {
        await using var run = await ClusterRun.StartAsync(fixture, "cluster-three");
        var callsBefore = fixture.Llm.CallCount;

        await run.Bus.RunAsync(NewRequests(Requests, "three"), Concurrency);

        await AssertAllAnsweredOnceAsync(run, "cluster-three");
        Assert.InRange(fixture.Llm.CallCount - callsBefore, Requests, Requests + run.Bus.Resends);
    }

    [Fact]
    public async Task LeaderNodeStopped_MidLoad_WorkersBridgeAndPublishersContinueOnTheOthers()
    {
        await using var run = await ClusterRun.StartAsync(fixture, "cluster-leader", withBridge: true);
        var callsBefore = fixture.Llm.CallCount;

        var bus = run.Bus.RunAsync(NewRequests(Requests, "leader"), Concurrency);
        var http = run.Http!.RunAsync(BridgeRequests, concurrency: 8, "leader");
        await WaitUntilAsync(run, () => run.Bus.Answers.Count >= Requests / 3, TimeSpan.FromMinutes(3), "a third of the requests answered");

        // Survived because the queue has a member on each node (ClusterRun spreads it): two of three remain a quorum.
        Assert.Equal(3, (await fixture.Cluster.QueueAsync(Queue)).Online);
        var leader = (await fixture.Cluster.QueueAsync(Queue)).Leader ?? throw new InvalidOperationException("the input queue reports no leader: not a quorum queue?");
        var stoppedAt = run.Clock.Elapsed;
        var answeredBeforeStop = run.Bus.Answers.Count;
        ClusterTrace.Write($"cluster-leader: stopping {leader}, the input queue's leader; {await fixture.Cluster.DescribeQueuesAsync()}");
        await RabbitMqCluster.StopNodeAsync(leader);
        var stopTook = run.Clock.Elapsed - stoppedAt;
        ClusterTrace.Write($"cluster-leader: {leader} stopped in {stopTook.TotalSeconds:F1} s");
        try
        {
            await Task.WhenAll(bus, http);
            ClusterTrace.Write("cluster-leader: bus and bridge loads done");
            // The bridge's own load can end before the stop does (it did once the hot path got faster): a few calls after
            // it show the bridge went on after the loss.
            await run.Http.RunAsync(BridgeRequestsAfterLoss, concurrency: 4, "after-loss");
            var newLeader = (await fixture.Cluster.QueueAsync(Queue)).Leader;
            await ReportAsync(run, leader, newLeader, stoppedAt, stopTook, answeredBeforeStop, fixture.Llm.CallCount - callsBefore);

            await AssertAllAnsweredOnceAsync(run, "cluster-leader");
            Assert.Equal(BridgeRequests, run.Http.Final.Count);
            Assert.All(run.Http.Final.Values, status => Assert.Equal(HttpStatusCode.OK, status));
            Assert.Contains(run.Http.AnswerTimes, t => t > stoppedAt + stopTook); // the bridge went on after the loss
            Assert.Contains(run.Bus.AnswerTimes, t => t > stoppedAt + stopTook);
            Assert.NotEqual(leader, newLeader);
            // Paid calls: one per request, plus at most what was in flight when the node went (redelivered to another worker).
            Assert.InRange(fixture.Llm.CallCount - callsBefore, Requests + BridgeRequests + BridgeRequestsAfterLoss, Requests + BridgeRequests + BridgeRequestsAfterLoss + Workers * ClusterRun.ConcurrentMessageLimit + run.Bus.Resends);
        }
        finally
        {
            ClusterTrace.Write($"cluster-leader: starting {leader} again");
            await RabbitMqCluster.StartNodeAsync(leader);
            ClusterTrace.Write($"cluster-leader: {leader} started");
        }
    }

    [Fact]
    public async Task KilledWorkerProcess_ItsUnacknowledgedMessagesAreProcessedByTheOthers()
    {
        await using var run = await ClusterRun.StartAsync(fixture, "cluster-kill");
        var callsBefore = fixture.Llm.CallCount;

        var bus = run.Bus.RunAsync(NewRequests(Requests, "kill"), Concurrency);
        await WaitUntilAsync(run, () => run.Bus.Answers.Count >= Requests / 3, TimeSpan.FromMinutes(3), "a third of the requests answered");
        run.Workers[0].Kill();
        ClusterTrace.Write($"cluster-kill: killed worker pid {run.Workers[0].Id}");
        await bus;

        await AssertAllAnsweredOnceAsync(run, "cluster-kill");
        // Paid calls: one per request, plus at most what the killed worker had in flight (processed again by the others).
        Assert.InRange(fixture.Llm.CallCount - callsBefore, Requests, Requests + ClusterRun.ConcurrentMessageLimit + run.Bus.Resends);
    }

    private async Task AssertAllAnsweredOnceAsync(ClusterRun run, string user)
    {
        Assert.Empty(run.Bus.Rejections);
        if (run.Bus.Answers.Count != Requests)
            Assert.Fail($"{run.Bus.Answers.Count} of {Requests} requests answered; {await run.DescribeAsync()}");
        Assert.All(run.Bus.Answers, a => Assert.Equal(a.Key, a.Value.RequestId));
        // One stored result per requestId (it is the document's _id), none missing, none extra.
        var stored = await run.Vocabularies.Find(d => d.UserId == user).ToListAsync();
        Assert.Equal(run.Bus.Answers.Keys.Select(k => k.ToString("D")).Order(), stored.Select(d => d.RequestId).Order());
        // Nothing left behind unacknowledged on a consumer (the management API's figures lag), and nothing failed: the
        // only copies allowed on a failure queue are requests that outlived their sender's time-to-live in the queue on
        // a loaded machine (the bridge's request client sets its HTTP timeout as one; its caller had a 504 and asked
        // again, as the bus publisher resent), filed `expired_in_queue` and answered through the resend (above).
        await WaitUntilAsync(run, async () => (await fixture.Cluster.QueuesAsync()).Where(q => !RabbitMqCluster.IsFailureQueue(q.Name)).All(q => q.Messages == 0),
            TimeSpan.FromSeconds(60), "every queue but the failure queues empty");
        var failures = await fixture.Cluster.FailureReasonsAsync();
        Assert.True(failures.All(r => r == RejectionReasons.ExpiredInQueue), $"dead-lettered: {string.Join(", ", failures)}; {await run.DescribeAsync()}");
    }

    private static async Task ReportAsync(ClusterRun run, string leader, string? newLeader, TimeSpan stoppedAt, TimeSpan stopTook, int answeredBeforeStop, int llmCalls)
    {
        var after = run.Bus.AnswerTimes.Where(t => t >= stoppedAt).ToList();
        var longestPause = after.Zip(after.Skip(1), (a, b) => b - a).DefaultIfEmpty().Max();
        var before = run.Bus.AnswerTimes.Where(t => t < stoppedAt).ToList();
        var rateBefore = before.Count / Math.Max(0.001, (stoppedAt - before.DefaultIfEmpty().Min()).TotalSeconds);
        var rateAfter = after.Count / Math.Max(0.001, (after.DefaultIfEmpty(stoppedAt).Max() - stoppedAt).TotalSeconds);
        var lines = new[]
        {
            $"node loss: stopped {leader} (input queue leader) after {answeredBeforeStop} of {Requests} bus requests; new leader {newLeader ?? "-"}",
            $"  rabbitmqctl stop_app took {stopTook.TotalSeconds:F1} s; longest pause between answers after the stop {longestPause.TotalSeconds:F1} s",
            $"  first answer after the stop +{((after.Count > 0 ? after[0] : stoppedAt) - stoppedAt).TotalSeconds:F1} s; {rateBefore:F0} answers/s before, {rateAfter:F0} after",
            $"  bus requests sent again after no answer: {run.Bus.Resends}; bridge calls asked again after a 503/504: {run.Http!.Retries} (of which unanswered within the client's timeout: {run.Http.Timeouts}); LLM calls {llmCalls} for {Requests} bus and {BridgeRequests} bridge requests",
        };
        var report = RepositoryFiles.PathOf(".services/cluster-report.txt");
        await File.AppendAllLinesAsync(report, lines);
    }

    private static List<GenerateVocabulary> NewRequests(int count, string tag) =>
        Enumerable.Range(0, count).Select(i => WorkerFixture.NewRequest(transcript: $"Cluster {tag} transcript {i} {Guid.NewGuid():N}")).ToList();

    private static Task WaitUntilAsync(ClusterRun run, Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(run, () => Task.FromResult(condition()), timeout, what);

    private static async Task WaitUntilAsync(ClusterRun run, Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not {what} after {timeout}; {await run.DescribeAsync()}");
            await Task.Delay(250);
        }
    }
}
