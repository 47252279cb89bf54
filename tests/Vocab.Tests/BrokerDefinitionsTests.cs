using System.Text.Json;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>rabbitmq/definitions.json imports into the real broker and declares what the compose broker relies on.</summary>
public sealed class BrokerDefinitionsTests
{
    [Fact]
    public async Task Definitions_ImportIntoRealBroker_DeclareDurableQueueAndDeadLetterPolicy()
    {
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("definitions");

        await vhost.ImportDefinitionsAsync();

        using var queue = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/queues/{vhost.Name}/generate-vocabulary"));
        Assert.True(queue.RootElement.GetProperty("durable").GetBoolean());
        using var policy = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/policies/{vhost.Name}/vocab-dead-letter"));
        Assert.Equal("^generate-vocabulary$", policy.RootElement.GetProperty("pattern").GetString());
        // The broker cannot scrub credentials, so it dead-letters into a quarantine only the worker reads.
        Assert.Equal("generate-vocabulary_quarantine",
            policy.RootElement.GetProperty("definition").GetProperty("dead-letter-exchange").GetString());
        using var errorQueue = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/queues/{vhost.Name}/generate-vocabulary_error"));
        Assert.True(errorQueue.RootElement.GetProperty("durable").GetBoolean());
        using var quarantine = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/queues/{vhost.Name}/generate-vocabulary_quarantine"));
        Assert.True(quarantine.RootElement.GetProperty("durable").GetBoolean());
    }
}
