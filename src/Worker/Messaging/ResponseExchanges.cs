using System.Collections.Concurrent;
using RabbitMQ.Client.Exceptions;
using Vocab.Messaging;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Whether the exchange a MassTransit response address names exists, before the worker answers there. MassTransit
/// declares the exchange it sends to, so a publisher (with a credential or without) naming a new address on every message
/// would have the worker create exchanges without end; a requester's own bus endpoint exists already (its bus declared it).
/// Exchanges found are remembered for a few minutes, so a bridge's answers cost no extra round trip.
/// </summary>
public sealed partial class ResponseExchanges(BrokerConnection broker, TimeProvider time, ILogger<ResponseExchanges> logger)
{
    private const ushort NotFound = 404;
    private const int MaxRemembered = 10_000;
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _found = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="exchange"/> exists on the worker's virtual host.</summary>
    public async Task<bool> ExistsAsync(string exchange, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_found.TryGetValue(exchange, out var until) && until > now)
            return true;
        var connection = await broker.GetAsync("vocab-worker-replies", cancellationToken);
        // Its own channel: the broker closes a channel whose passive declare names no exchange.
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await channel.ExchangeDeclarePassiveAsync(exchange, cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
        {
            LogNotAnswered(logger, exchange);
            return false;
        }
        if (_found.Count >= MaxRemembered)
            _found.Clear();
        _found[exchange] = now + Remembered;
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not answered: the response address names exchange {Exchange}, which does not exist (the worker creates none for a requester)")]
    private static partial void LogNotAnswered(ILogger logger, string exchange);
}
