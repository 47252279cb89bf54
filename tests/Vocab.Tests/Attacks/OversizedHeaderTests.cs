using System.Text;
using MassTransit;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests.Attacks;

/// <summary>
/// A publisher's headers just under the broker's frame size (128 KiB) must not make what the worker writes (a dead-letter
/// copy, its answer) larger than a frame: the broker would close the worker's connection, and the redelivered message
/// would do it again, so one message would stop every worker.
/// </summary>
public sealed class OversizedHeaderTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>
{
    private const string SkippedQueue = WorkerFixture.QueueName + QueueNames.SkippedSuffix;

    // Thirteen headers of 10,040 characters: about 130,850 bytes with the message's properties, under the 131,064 bytes a
    // frame holds by less than the worker adds to a dead-letter copy (its reason, id, time and signature).
    private const int PaddingHeaders = 13, PaddingLength = 10_040;

    private static Dictionary<string, object?> NearlyAFrameOfHeaders(int count = PaddingHeaders, string prefix = "X-Padding-") =>
        Enumerable.Range(0, count).ToDictionary(i => $"{prefix}{i:00}", _ => (object?)new string('p', PaddingLength));

    [Fact]
    public async Task UnknownMessage_WithNearlyAFrameOfHeaders_IsSkippedWithinTheBudget_AndTheWorkerServesOn()
    {
        var messageId = await PublishUnknownAsync(NearlyAFrameOfHeaders());

        var skipped = await DeadLetterReader.WaitForAsync(fixture.Amqp, SkippedQueue, messageId);

        var kept = skipped.Headers.Keys.Count(k => k.StartsWith("X-Padding-", StringComparison.Ordinal));
        Assert.InRange(kept, 1, HeaderBudget.PublisherBytes / PaddingLength);
        Assert.Equal((PaddingHeaders - kept).ToString(System.Globalization.CultureInfo.InvariantCulture), skipped.Header(VocabHeaders.HeadersDropped));
        await AssertServesOnAsync();
    }

    [Fact]
    public async Task UnknownMessage_WithNearlyAFrameInOneBinaryHeader_IsSkippedWithoutIt_AndTheWorkerServesOn()
    {
        // AMQP's binary type ('x', as the Java client sends a byte[]): its text is not its size.
        var messageId = await PublishUnknownAsync(new() { ["X-Blob"] = new BinaryTableValue(new byte[130_500]) });

        var skipped = await DeadLetterReader.WaitForAsync(fixture.Amqp, SkippedQueue, messageId);

        Assert.Null(skipped.Header("X-Blob"));
        Assert.Equal("1", skipped.Header(VocabHeaders.HeadersDropped));
        await AssertServesOnAsync();
    }

    private async Task<Guid> PublishUnknownAsync(Dictionary<string, object?> headers)
    {
        var messageId = Guid.NewGuid();
        var body = $$"""{"messageId":"{{messageId}}","messageType":["urn:message:Vocab.Contracts:NobodyHandlesThis"],"message":{"videoId":"v"} }""";
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var properties = new BasicProperties
        {
            ContentType = "application/vnd.masstransit+json", MessageId = messageId.ToString(), Headers = headers, Persistent = true,
        };
        await channel.BasicPublishAsync("", WorkerFixture.QueueName, false, properties, Encoding.UTF8.GetBytes(body));
        return messageId;
    }

    private async Task AssertServesOnAsync()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"after-oversized-{Guid.NewGuid():N}");
        var served = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        Assert.True(served.Is(out Response<VocabularyGenerated>? _), "the worker stopped serving after an oversized message");
    }

    [Fact]
    public async Task Request_WithNearlyAFrameOfHeaders_IsAnswered_WithoutThem()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"oversized-{Guid.NewGuid():N}");

        var answer = await fixture.RequestAsync(WorkerFixture.NewRequest(), c =>
        {
            c.UseApiKey(key);
            // One header fewer: the request itself, with MassTransit's headers, must fit in a frame.
            foreach (var (name, value) in NearlyAFrameOfHeaders(PaddingHeaders - 1))
                c.Headers.Set(name, value);
        });

        Assert.True(answer.Is(out Response<VocabularyGenerated>? served), "no answer: the reply carrying the request's headers was larger than a frame");
        Assert.DoesNotContain(served!.Headers.GetAll(), h => h.Key.StartsWith("X-Padding-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_WithNearlyAFrameOfLowerCaseMtHeaders_IsAnswered_WithoutThem()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"oversized-mt-{Guid.NewGuid():N}");

        // MassTransit keeps back only its own "MT-" headers, in that case: "mt-…" ones are copied like any other.
        var answer = await fixture.RequestAsync(WorkerFixture.NewRequest(), c =>
        {
            c.UseApiKey(key);
            foreach (var (name, value) in NearlyAFrameOfHeaders(PaddingHeaders - 1, "mt-padding-"))
                c.Headers.Set(name, value);
        });

        Assert.True(answer.Is(out Response<VocabularyGenerated>? served), "no answer: the reply carrying the request's headers was larger than a frame");
        Assert.DoesNotContain(served!.Headers.GetAll(), h => h.Key.StartsWith("mt-padding-", StringComparison.OrdinalIgnoreCase));
    }
}
