using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.Attacks;

/// <summary>
/// The attack corpus against the real worker and bridge: every case is refused with the right reason or status, no LLM
/// call is made, nothing crashes, and afterwards no queue of the run and no log line holds any credential used.
/// </summary>
[Collection(HeavyLoadCollection.Name)]
public sealed class AttackCorpusTests(BridgeFixture fixture) : IClassFixture<BridgeFixture>
{
    [Fact]
    public async Task Corpus_IsRefusedEverywhereAndLeavesNoCredentialBehind()
    {
        var cases = await AttackCorpus.BuildAsync(fixture);
        Assert.True(cases.Count >= 100, $"the corpus has {cases.Count} cases");
        var bridgeCases = cases.Where(c => c.BridgeStatuses.Count > 0 && c.Headers.Values.All(IsHttpSafe)).ToList();
        Assert.True(cases.Count + bridgeCases.Count >= 200, $"{cases.Count} bus and {bridgeCases.Count} bridge cases");
        var llmCallsBefore = fixture.Llm.CallCount;
        // Its own bridge, with the per-address throttle out of the way: here every case must reach the validator.
        await using var bridge = await BridgeHost.StartAsync(fixture.BridgeConfiguration(new Dictionary<string, string?>
        {
            ["Bridge:FailedAuthenticationsPerMinute"] = "100000",
        }));

        var sent = await PublishAllAsync(cases);
        var bridgeFailures = new List<string>();
        var bridgeBodies = new StringBuilder();
        foreach (var attack in bridgeCases)
        {
            using var response = await bridge.Client.SendAsync(HttpRequest(attack));
            bridgeBodies.AppendLine(await response.Content.ReadAsStringAsync());
            if (!attack.BridgeStatuses.Contains((int)response.StatusCode))
                bridgeFailures.Add($"{attack.Name}: HTTP {(int)response.StatusCode}, expected {string.Join('/', attack.BridgeStatuses)}");
        }
        var deadLetters = await CollectAsync(sent.Keys.ToHashSet(), TimeSpan.FromSeconds(90));

        var busFailures = new List<string>();
        foreach (var (messageId, attack) in sent)
        {
            if (!deadLetters.TryGetValue(messageId, out var found))
                busFailures.Add($"{attack.Name}: not dead-lettered");
            else if (!attack.BusReasons.Contains(found.Reason))
                busFailures.Add($"{attack.Name}: {found.Reason}, expected {string.Join('/', attack.BusReasons)}");
        }
        Assert.True(busFailures.Count == 0, string.Join("\n", busFailures));
        Assert.True(bridgeFailures.Count == 0, string.Join("\n", bridgeFailures));
        Assert.Equal(llmCallsBefore, fixture.Llm.CallCount);

        // Everything the run wrote: every queue of the virtual host, the worker's and the bridge's logs, the bridge's answers.
        var written = new StringBuilder(bridgeBodies.ToString());
        foreach (var letter in deadLetters.Values)
            written.AppendLine(letter.Text);
        written.AppendLine(await DrainEveryQueueAsync());
        foreach (var line in fixture.Logs.Lines.Concat(bridge.Logs.Lines).Concat(fixture.Bridge.Logs.Lines))
            written.AppendLine(line);
        var everything = written.ToString();
        var leaks = cases.SelectMany(c => c.Secrets.Select(s => (c.Name, Secret: s)))
            .Where(x => everything.Contains(x.Secret, StringComparison.Ordinal)).Select(x => x.Name).Distinct().ToList();
        Assert.True(leaks.Count == 0, "credentials found after the run, from: " + string.Join(", ", leaks));
    }

    private async Task<Dictionary<string, AttackCase>> PublishAllAsync(IReadOnlyList<AttackCase> cases)
    {
        var sent = new Dictionary<string, AttackCase>();
        await using var channel = await fixture.Amqp.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        foreach (var attack in cases)
        {
            var messageId = Guid.NewGuid().ToString();
            var body = attack.Body ?? JsonSerializer.Serialize(WorkerFixture.NewRequest(), new JsonSerializerOptions(JsonSerializerDefaults.Web));
            var properties = new BasicProperties
            {
                MessageId = messageId, ContentType = attack.ContentType, Persistent = true,
                Headers = attack.Headers.ToDictionary(h => h.Key, h => h.Value is string s ? Encoding.UTF8.GetBytes(s) : h.Value),
            };
            await channel.BasicPublishAsync("", WorkerFixture.QueueName, true, properties, Encoding.UTF8.GetBytes(body));
            sent[messageId] = attack;
        }
        return sent;
    }

    private sealed record Found(string Reason, string Text);

    private async Task<Dictionary<string, Found>> CollectAsync(HashSet<string> expected, TimeSpan timeout)
    {
        var found = new Dictionary<string, Found>();
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var deadline = DateTime.UtcNow + timeout;
        while (found.Count(f => expected.Contains(f.Key)) < expected.Count && DateTime.UtcNow < deadline)
        {
            var any = false;
            foreach (var queue in new[] { WorkerFixture.ErrorQueueName, WorkerFixture.RefusedQueueName })
            {
                BasicGetResult? result;
                try
                {
                    result = await channel.BasicGetAsync(queue, autoAck: true);
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    // Not declared yet: the first message of that kind declares it.
                    await channel.CloseAsync();
                    return await CollectAsync(expected, deadline - DateTime.UtcNow) is var rest ? Merge(found, rest) : found;
                }
                if (result is null)
                    continue;
                any = true;
                var letter = DeadLetterReader.ToDeadLetter(result);
                var reason = letter.Header(VocabHeaders.Reason) ?? "(none)";
                found[letter.MessageId ?? Guid.NewGuid().ToString()] = new Found(reason, letter.AllText);
            }
            if (!any)
                await Task.Delay(100);
        }
        return found;
    }

    private static Dictionary<string, Found> Merge(Dictionary<string, Found> a, Dictionary<string, Found> b)
    {
        foreach (var (key, value) in b)
            a[key] = value;
        return a;
    }

    private async Task<string> DrainEveryQueueAsync()
    {
        var text = new StringBuilder();
        using var queues = JsonDocument.Parse(await fixture.VirtualHost.Management.GetStringAsync($"api/queues/{Uri.EscapeDataString(fixture.VirtualHost.Name)}"));
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        foreach (var queue in queues.RootElement.EnumerateArray().Select(q => q.GetProperty("name").GetString()!))
        {
            while (await channel.BasicGetAsync(queue, autoAck: true) is { } result)
                text.AppendLine(DeadLetterReader.ToDeadLetter(result).AllText);
        }
        return text.ToString();
    }

    private static HttpRequestMessage HttpRequest(AttackCase attack)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/vocabularies");
        foreach (var (name, value) in attack.Headers)
            request.Headers.TryAddWithoutValidation(name, (string)value!);
        return request;
    }

    private static bool IsHttpSafe(object? value) => value is string s && s.All(c => c >= 0x20 && c < 0x7f);
}
