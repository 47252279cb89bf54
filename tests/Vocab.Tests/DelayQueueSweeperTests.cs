using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RabbitMQ.Client;
using Vocab.Messaging;
using Vocab.TestSupport;
using Vocab.Worker.Filters;
using Vocab.Worker.Messaging;

namespace Vocab.Tests;

/// <summary>
/// A parked copy the broker holds past its wait (a quorum queue whose leader moved, on RabbitMQ 3.10, left 129 such copies
/// unexpired in CI) is moved back to the input queue by the worker's sweep, one whole sweep interval after it was due, and
/// never before. Time is the sweeper's fake clock; the broker's own expiry (300 s here) never comes into the test.
/// </summary>
public sealed class DelayQueueSweeperTests : IAsyncLifetime
{
    private const string InputQueue = "sweep-input";
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private RabbitMqVirtualHost _vhost = null!;
    private IConnection _amqp = null!;
    private BrokerConnection _broker = null!;
    private DelayQueueSweeper _sweeper = null!;

    public async Task InitializeAsync()
    {
        _vhost = await RabbitMqVirtualHost.CreateAsync("vocab-sweep");
        _amqp = await new ConnectionFactory { Uri = _vhost.AmqpUri }.CreateConnectionAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:RabbitMq"] = _vhost.AmqpUri.ToString() })
            .Build();
        _broker = new BrokerConnection(configuration, Options.Create(new RabbitMqConnectionOptions()));
        var messaging = Options.Create(new MessagingOptions { ConnectionString = _vhost.AmqpUri.ToString(), QueueName = InputQueue, DelaySweepInterval = Interval });
        _sweeper = new DelayQueueSweeper(_broker, messaging, _time, NullLogger<DelayQueueSweeper>.Instance);
        await using var channel = await _amqp.CreateChannelAsync();
        await channel.QueueDeclareAsync(InputQueue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueDeclareAsync(DelayQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: RateDelay.QueueArguments(InputQueue, new Dictionary<string, object>(), Step).ToDictionary(a => a.Key, a => (object?)a.Value));
    }

    private static string DelayQueue => QueueNames.Delay(InputQueue, Step);

    [Fact]
    public async Task CopyHeldPastItsWait_IsMovedToTheInputQueue_AfterOneWholeInterval_AndNotBefore()
    {
        var parkedAt = _time.GetUtcNow();
        await ParkAsync("first", parkedAt);
        await ParkAsync("second", parkedAt);

        // Due at +300 s: at +305 s the broker may still be about to expire them; nothing moves, and the order is kept.
        _time.Advance(Step + Interval / 2);
        Assert.Equal(0, await _sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal((2u, 0u), await CountsAsync());

        _time.Advance(Interval);
        Assert.Equal(2, await _sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal((0u, 2u), await CountsAsync());
        await using var channel = await _amqp.CreateChannelAsync();
        foreach (var expected in new[] { "first", "second" })
        {
            var moved = await channel.BasicGetAsync(InputQueue, autoAck: true);
            Assert.NotNull(moved);
            Assert.Equal(expected, Encoding.UTF8.GetString(moved.Body.Span));
            Assert.Equal("kept", HeaderText.Of(moved.BasicProperties.Headers!["X-Test"]));
            Assert.True(moved.BasicProperties.Persistent);
        }
    }

    [Fact]
    public async Task CopyParkedLater_StaysWhileAnEarlierOneIsMoved()
    {
        await ParkAsync("early", _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(200));
        await ParkAsync("late", _time.GetUtcNow());

        _time.Advance(Step - TimeSpan.FromSeconds(200) + Interval + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal((1u, 1u), await CountsAsync());
    }

    private async Task ParkAsync(string body, DateTimeOffset parkedAt)
    {
        await using var channel = await _amqp.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var properties = new BasicProperties
        {
            Persistent = true,
            Headers = new Dictionary<string, object?> { [RateDelay.ParkedAtHeader] = parkedAt.ToUnixTimeMilliseconds(), ["X-Test"] = "kept" },
        };
        await channel.BasicPublishAsync("", DelayQueue, true, properties, Encoding.UTF8.GetBytes(body));
    }

    private async Task<(uint Delay, uint Input)> CountsAsync()
    {
        await using var channel = await _amqp.CreateChannelAsync();
        return ((await channel.QueueDeclarePassiveAsync(DelayQueue)).MessageCount, (await channel.QueueDeclarePassiveAsync(InputQueue)).MessageCount);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _amqp.CloseAsync();
        await _amqp.DisposeAsync();
        await _vhost.DisposeAsync();
    }
}
