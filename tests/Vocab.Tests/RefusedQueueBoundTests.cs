using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging.DeadLetters;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests;

/// <summary>
/// A flood of large unauthenticated messages costs the broker a bounded amount: each refusal keeps metadata only, on a
/// queue that drops its oldest entries past its length; the error queue, which nothing drops, receives none of them.
/// </summary>
[Collection(HeavyLoadCollection.Name)]
public sealed class RefusedQueueBoundTests(RefusedQueueBoundTests.SmallBoundWorker fixture) : IClassFixture<RefusedQueueBoundTests.SmallBoundWorker>
{
    public sealed class SmallBoundWorker : WorkerFixture
    {
        public const int MaxLength = 25;

        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["DeadLetter:RefusedQueueMaxLength"] = MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    private const int Flood = 300;
    private const int BodyBytes = 64 * 1024;
    // 10,000 refusals (the production bound) of at most this many bytes of metadata stay far below 100 MB.
    private const int MaxRefusalBytes = 2048;

    [Fact]
    public async Task FloodOfLargeUnauthenticatedMessages_LeavesAtMostTheBoundOnRefused_NoneOnError_AndNoBody()
    {
        var filed = 0;
        using var listener = CountRefusals(() => Interlocked.Increment(ref filed));
        var junkKey = Authentication.ApiKeys.ApiKeyFormat.Generate().Key;

        await using (var channel = await fixture.Amqp.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            // Junk of every kind: not JSON at all, a request without a credential, a request with a made-up key.
            var notJson = Encoding.UTF8.GetBytes(new string('x', BodyBytes));
            var request = JsonSerializer.SerializeToUtf8Bytes(WorkerFixture.NewRequest(transcript: new string('y', BodyBytes)),
                new JsonSerializerOptions(JsonSerializerDefaults.Web));
            for (var i = 0; i < Flood; i++)
            {
                var headers = new Dictionary<string, object?>();
                if (i % 3 == 2)
                    headers[VocabHeaders.ApiKey] = junkKey;
                await channel.BasicPublishAsync("", WorkerFixture.QueueName, false,
                    new BasicProperties { MessageId = Guid.NewGuid().ToString(), ContentType = "application/json", Persistent = true, Headers = headers },
                    i % 3 == 0 ? notJson : request);
            }
        }
        await WaitUntilAsync(() => Volatile.Read(ref filed) >= Flood);

        await using var check = await fixture.Amqp.CreateChannelAsync();
        Assert.Equal((uint)SmallBoundWorker.MaxLength, (await check.QueueDeclarePassiveAsync(WorkerFixture.RefusedQueueName)).MessageCount);
        Assert.Equal(0u, (await check.QueueDeclarePassiveAsync(WorkerFixture.ErrorQueueName)).MessageCount);

        var signer = fixture.Services.GetRequiredService<DeadLetterSigner>();
        var kept = 0;
        while (await check.BasicGetAsync(WorkerFixture.RefusedQueueName, autoAck: true) is { } refusal)
        {
            kept++;
            var letter = DeadLetterReader.ToDeadLetter(refusal);
            Assert.Equal(0, refusal.Body.Length);
            Assert.Equal("refused", letter.Header(VocabHeaders.BodyRemoved));
            Assert.Contains(letter.Header(VocabHeaders.Reason), RejectionReasons.CredentialReasons.Append(RejectionReasons.InvalidRequest));
            Assert.Null(signer.WhyUnverified(refusal.BasicProperties, refusal.Body.Span));
            Assert.DoesNotContain(junkKey, letter.AllText, StringComparison.Ordinal);
            Assert.True(letter.AllText.Length < MaxRefusalBytes, $"a refusal keeps {letter.AllText.Length} bytes of metadata");
        }
        Assert.Equal(SmallBoundWorker.MaxLength, kept);
    }

    [Fact]
    public async Task RefusedQueue_IsBoundedByTheWorkersArgumentsAndTheBrokerPolicy()
    {
        // One refusal makes the worker declare the queue.
        var messageId = await fixture.SendAsync(WorkerFixture.NewRequest(), _ => { });
        await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        // The management API fills in a new queue's policy with its next statistics (every 5 s).
        using var queue = await QueueWithPolicyAsync();
        var arguments = queue.RootElement.GetProperty("arguments");
        Assert.Equal(SmallBoundWorker.MaxLength, arguments.GetProperty("x-max-length").GetInt32());
        Assert.Equal("drop-head", arguments.GetProperty("x-overflow").GetString());
        // rabbitmq/definitions.json bounds it too, for a worker configured with a larger bound or none.
        Assert.Equal("vocab-refused-bound", queue.RootElement.GetProperty("policy").GetString());
        var policy = queue.RootElement.GetProperty("effective_policy_definition");
        Assert.Equal(10_000, policy.GetProperty("max-length").GetInt32());
        Assert.Equal("drop-head", policy.GetProperty("overflow").GetString());
    }

    private async Task<JsonDocument> QueueWithPolicyAsync()
    {
        var address = $"api/queues/{Uri.EscapeDataString(fixture.VirtualHost.Name)}/{WorkerFixture.RefusedQueueName}";
        for (var i = 0; ; i++)
        {
            var queue = JsonDocument.Parse(await fixture.VirtualHost.Management.GetStringAsync(address));
            if (queue.RootElement.TryGetProperty("policy", out _) || i == 100)
                return queue;
            queue.Dispose();
            await Task.Delay(200);
        }
    }

    private MeterListener CountRefusals(Action counted)
    {
        // This worker's meter only: other test classes' workers publish the same instrument.
        var meters = fixture.Services.GetRequiredService<IMeterFactory>();
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Vocab.DeadLetters" && ReferenceEquals(instrument.Meter.Scope, meters))
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "queue" && tag.Value as string == WorkerFixture.RefusedQueueName)
                    counted();
            }
        });
        listener.Start();
        return listener;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("condition not met in 180 s");
            await Task.Delay(200);
        }
    }
}
