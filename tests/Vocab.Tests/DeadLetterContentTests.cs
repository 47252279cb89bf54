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
    public async Task FailuresWithoutARequester_ArePublishedOnceAsRejections_NeverAsFaults_WithoutCredentials()
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var capture = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        foreach (var exchange in new[] { "MassTransit:ReceiveFault", "MassTransit:Fault--Vocab.Contracts:GenerateVocabulary--", "Vocab.Contracts:GenerateVocabularyRejected" })
        {
            await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await channel.QueueBindAsync(capture, exchange, "");
        }

        var (_, key) = await fixture.CreateApiKeyAsync("fault-user");
        var badKey = ApiKeyFormat.Generate().Key;
        var rejectedRequest = WorkerFixture.NewRequest();
        var rejectedId = await fixture.SendAsync(rejectedRequest, c => c.UseApiKey(badKey));
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.ServerError;
        var failedRequest = WorkerFixture.NewRequest();
        var failedId = await fixture.SendAsync(failedRequest, c => c.UseApiKey(key));
        await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, rejectedId);
        await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.ErrorQueueName, failedId);
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        // Another valid caller names the failed request's id with a body of its own: refused, and nothing published that
        // event readers could take for the first caller's outcome.
        var (_, otherKey) = await fixture.CreateApiKeyAsync("fault-other-user");
        var hijackId = await fixture.SendAsync(WorkerFixture.NewRequest() with { RequestId = failedRequest.RequestId }, c => c.UseApiKey(otherKey));
        await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, hijackId);

        // Published before the copy was filed; anything else (a fault, a second rejection) would follow within moments.
        var events = new List<DeadLetterReader.DeadLetter>();
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow - quietSince < TimeSpan.FromSeconds(2))
        {
            var result = await channel.BasicGetAsync(capture, autoAck: true);
            if (result is null)
                await Task.Delay(100);
            else
            {
                events.Add(DeadLetterReader.ToDeadLetter(result));
                quietSince = DateTime.UtcNow;
            }
        }

        // The proven caller's failure: one rejection event with its reason. The refused credential's: nothing.
        var rejection = Assert.Single(events);
        Assert.Contains(failedRequest.RequestId.ToString(), rejection.Body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(RejectionReasons.LlmUnavailable, rejection.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Fault", rejection.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(key, rejection.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(badKey, rejection.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(rejectedRequest.RequestId.ToString(), rejection.AllText, StringComparison.OrdinalIgnoreCase);
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
