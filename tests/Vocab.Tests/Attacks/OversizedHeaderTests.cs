using System.Text;
using System.Text.Json;
using MassTransit;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests.Attacks;

/// <summary>
/// A publisher's headers just under the broker's frame size (128 KiB) must not make what the worker writes (a dead-letter
/// copy, its answer) larger than a frame: the broker would close the worker's connection, and the redelivered message
/// would do it again, so one message would stop every worker.
/// </summary>
public sealed class OversizedHeaderTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>
{
    // Thirteen headers of 10,040 characters: about 130,850 bytes with the message's properties, under the 131,064 bytes a
    // frame holds by less than the worker adds to a dead-letter copy (its reason, id, time and signature).
    private const int PaddingHeaders = 13, PaddingLength = 10_040;

    private static Dictionary<string, object?> NearlyAFrameOfHeaders(int count = PaddingHeaders, string prefix = "X-Padding-") =>
        Enumerable.Range(0, count).ToDictionary(i => $"{prefix}{i:00}", _ => (object?)new string('p', PaddingLength));

    [Fact]
    public async Task UnknownMessage_WithNearlyAFrameOfHeaders_IsRefusedWithoutThem_AndTheWorkerServesOn()
    {
        var messageId = await PublishUnknownAsync(NearlyAFrameOfHeaders());

        // No caller proven: a refusal, the worker's metadata only.
        var refused = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        Assert.Equal(RejectionReasons.UnhandledMessageType, refused.Header(VocabHeaders.Reason));
        Assert.DoesNotContain(refused.Headers.Keys, k => k.StartsWith("X-Padding-", StringComparison.Ordinal));
        await AssertServesOnAsync();
    }

    [Fact]
    public async Task UnknownMessage_WithNearlyAFrameInOneBinaryHeader_IsRefusedWithoutIt_AndTheWorkerServesOn()
    {
        // AMQP's binary type ('x', as the Java client sends a byte[]): its text is not its size.
        var messageId = await PublishUnknownAsync(new() { ["X-Blob"] = new BinaryTableValue(new byte[130_500]) });

        var refused = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        Assert.Equal(RejectionReasons.UnhandledMessageType, refused.Header(VocabHeaders.Reason));
        Assert.Null(refused.Header("X-Blob"));
        await AssertServesOnAsync();
    }

    /// <summary>
    /// A key holder sending a valid request padded far over what any request needs (the broker takes up to 128 MB; an
    /// unknown field is kept when a copy is filed): refused before its credential is read, filed metadata only, with no
    /// LLM call; the worker serves on.
    /// </summary>
    [Fact]
    public async Task Request_PaddedOverTheSizeLimit_IsRefusedMetadataOnly_WithoutAnLlmCall()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"big-body-{Guid.NewGuid():N}");
        var request = JsonSerializer.SerializeToNode(WorkerFixture.NewRequest(), new JsonSerializerOptions(JsonSerializerDefaults.Web))!.AsObject();
        request["padding"] = new string('p', 3 * 1024 * 1024);
        var messageId = Guid.NewGuid();
        var callsBefore = fixture.Llm.CallCount;
        await using (var channel = await fixture.Amqp.CreateChannelAsync())
        {
            var properties = new BasicProperties
            {
                ContentType = "application/json", MessageId = messageId.ToString(), Headers = new Dictionary<string, object?> { [VocabHeaders.ApiKey] = key },
            };
            await channel.BasicPublishAsync("", WorkerFixture.QueueName, false, properties, Encoding.UTF8.GetBytes(request.ToJsonString()));
        }

        var refused = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        Assert.Equal(RejectionReasons.InvalidRequest, refused.Header(VocabHeaders.Reason));
        Assert.Empty(refused.Body);
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
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
