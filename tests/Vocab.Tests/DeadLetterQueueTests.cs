using System.Text;
using RabbitMQ.Client;
using Vocab.Admin.DeadLetters;
using Microsoft.Extensions.Options;
using Vocab.Contracts;
using Vocab.Messaging.DeadLetters;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>Reading the dead-letter queue never loses a message, even when the reader fails half-way.</summary>
public sealed class DeadLetterQueueTests : IAsyncLifetime
{
    private RabbitMqVirtualHost _vhost = null!;
    private IConnection _connection = null!;

    public async Task InitializeAsync()
    {
        _vhost = await RabbitMqVirtualHost.CreateAsync("dlq");
        await _vhost.ImportDefinitionsAsync();
        _connection = await new ConnectionFactory { Uri = _vhost.AmqpUri }.CreateConnectionAsync();
        await using var channel = await _connection.CreateChannelAsync();
        for (var i = 0; i < 3; i++)
        {
            await channel.BasicPublishAsync("", "generate-vocabulary_error", false,
                new BasicProperties { MessageId = $"m{i}", Headers = new Dictionary<string, object?> { [VocabHeaders.Reason] = RejectionReasons.LlmUnavailable } },
                Encoding.UTF8.GetBytes("{}"));
        }
    }

    [Fact]
    public async Task Visit_ThatFailsHalfWay_LeavesEveryMessageOnTheQueue()
    {
        var signer = new DeadLetterSigner(Options.Create(new DeadLetterSigningOptions { SigningKey = TestTokens.DeadLetterSigningKey }));
        await using var queue = new DeadLetterQueue(_vhost.AmqpUri, "generate-vocabulary", signer);
        var seen = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => queue.VisitAsync(int.MaxValue,
            _ => ++seen == 2 ? throw new InvalidOperationException("reader crashed") : false, null, CancellationToken.None));

        Assert.Equal(2, seen);
        Assert.Equal(3u, await queue.CountAsync(CancellationToken.None));
        var again = await queue.BrowseAsync(int.MaxValue, CancellationToken.None);
        Assert.Equal(["m0", "m1", "m2"], again.Select(m => m.MessageId).Order());
        Assert.Equal(3u, await queue.CountAsync(CancellationToken.None));
    }

    public async Task DisposeAsync()
    {
        await _connection.CloseAsync();
        await _vhost.DisposeAsync();
    }
}
