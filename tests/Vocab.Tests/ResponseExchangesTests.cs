using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RabbitMQ.Client;
using Vocab.Messaging;
using Vocab.TestSupport;
using Vocab.Worker.Messaging;

namespace Vocab.Tests;

/// <summary>
/// The worker's check that a response address names an exchange that exists, on a real broker. A requester's first burst
/// (a bridge just started: a hundred answers at once to one new name) is looked up once and answered in full; a flood of
/// made-up names spends its own caller's lookup budget, not another's.
/// </summary>
public sealed class ResponseExchangesTests : IAsyncLifetime
{
    private const string Requester = "vocab-bridge-bus-burst";
    private const string FloodersRequester = "vocab-bridge-bus-flooder";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private RabbitMqVirtualHost _vhost = null!;
    private BrokerConnection _broker = null!;
    private ResponseExchanges _exchanges = null!;

    public async Task InitializeAsync()
    {
        _vhost = await RabbitMqVirtualHost.CreateAsync("vocab-response-exchanges");
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:RabbitMq"] = _vhost.AmqpUri.ToString() })
            .Build();
        _broker = new BrokerConnection(configuration, Options.Create(new RabbitMqConnectionOptions()));
        _exchanges = new ResponseExchanges(_broker, new DirectReplies(_broker, NullLogger<DirectReplies>.Instance), _time, NullLogger<ResponseExchanges>.Instance);
        await using var amqp = await new ConnectionFactory { Uri = _vhost.AmqpUri }.CreateConnectionAsync();
        await using var channel = await amqp.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(Requester, ExchangeType.Fanout, durable: false, autoDelete: true);
        await channel.ExchangeDeclareAsync(FloodersRequester, ExchangeType.Fanout, durable: false, autoDelete: true);
    }

    [Fact]
    public async Task ABurstOfAnswersToOneNewRequester_IsAllAnswered()
    {
        var answered = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => _exchanges.ExistsAsync(Requester, "bridge-user", CancellationToken.None))));

        Assert.All(answered, Assert.True);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("flooding-user")]
    public async Task AFloodOfMadeUpNames_SpendsItsOwnBudget_AnotherCallersNewRequesterIsStillAnswered(string? flooder)
    {
        var madeUp = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => _exchanges.ExistsAsync($"vocab-bridge-bus-made-up-{i}", flooder, CancellationToken.None)));
        Assert.All(madeUp, Assert.False);

        // The flooder's budget (20 a second) is spent until the second turns; the other caller's is whole.
        Assert.True(await _exchanges.ExistsAsync(Requester, "bridge-user", CancellationToken.None));
        Assert.False(await _exchanges.ExistsAsync(FloodersRequester, flooder, CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await _exchanges.ExistsAsync(FloodersRequester, flooder, CancellationToken.None));
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _vhost.DisposeAsync();
    }
}
