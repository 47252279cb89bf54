using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>What else the worker emits on failure (faults, malformed input) and what it keeps for ops.</summary>
public sealed class DeadLetterContentTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>
{
    [Fact]
    public async Task FaultEvents_OfRejectedAndFailedMessages_CarryNoCredential()
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var capture = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        foreach (var exchange in new[] { "MassTransit:ReceiveFault", "MassTransit:Fault--Vocab.Contracts:GenerateVocabulary--" })
        {
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(capture, exchange, "");
        }

        var (_, key) = await fixture.CreateApiKeyAsync("fault-user");
        var badKey = ApiKeyFormat.Generate().Key;
        var rejectedId = await fixture.SendAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(badKey));
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        var failedRequest = WorkerFixture.NewRequest();
        var failedId = await fixture.SendAsync(failedRequest, c => c.UseApiKey(key));
        await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, rejectedId);
        await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.ErrorQueueName, failedId);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);

        var faults = new List<DeadLetterReader.DeadLetter>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && (faults.Count < 2 || !faults.Any(f => f.Body.Contains(failedRequest.VideoId, StringComparison.Ordinal))))
        {
            var result = await channel.BasicGetAsync(capture, autoAck: true);
            if (result is null)
                await Task.Delay(100);
            else
                faults.Add(DeadLetterReader.ToDeadLetter(result));
        }

        Assert.Contains(faults, f => f.Body.Contains(failedRequest.VideoId, StringComparison.Ordinal));
        Assert.True(faults.Count >= 2, $"expected a receive fault and a consumer fault, got {faults.Count}");
        foreach (var fault in faults)
        {
            Assert.DoesNotContain(key, fault.AllText, StringComparison.Ordinal);
            Assert.DoesNotContain(badKey, fault.AllText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MalformedBody_IsRefusedAsInvalidRequestWithoutItsCredential()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("malformed-user");
        var callsBefore = fixture.Llm.CallCount;
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var messageId = Guid.NewGuid();
        await channel.BasicPublishAsync("", WorkerFixture.QueueName, false,
            new BasicProperties { ContentType = "application/json", MessageId = messageId.ToString(), Headers = new Dictionary<string, object?> { [VocabHeaders.ApiKey] = key } },
            Encoding.UTF8.GetBytes("{\"requestId\": \"not-a-guid\", \"transcript\": "));

        // Unreadable before any caller was proven: nothing can replay it, so only its metadata is kept, on the bounded queue.
        var deadLetter = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        Assert.Equal(RejectionReasons.InvalidRequest, deadLetter.Header(VocabHeaders.Reason));
        Assert.Equal("", deadLetter.Body);
        Assert.DoesNotContain(key, deadLetter.AllText, StringComparison.Ordinal);
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
    }

    [Fact]
    public async Task UsedKey_GetsLastUsedAtWithoutAWritePerMessage()
    {
        var (keyId, key) = await fixture.CreateApiKeyAsync("last-used-user");
        var store = fixture.Services.GetRequiredService<ApiKeyStore>();
        var before = DateTime.UtcNow.AddSeconds(-1);

        await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseApiKey(key));
        Assert.Null((await store.FindByIdAsync(keyId, default))!.LastUsedAt); // not written per message

        await fixture.Services.GetRequiredService<ApiKeyUsageRecorder>().FlushAsync(default);
        var lastUsed = (await store.FindByIdAsync(keyId, default))!.LastUsedAt;
        Assert.NotNull(lastUsed);
        Assert.True(lastUsed >= before);
    }
}
