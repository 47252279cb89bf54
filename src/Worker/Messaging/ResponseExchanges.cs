using System.Collections.Concurrent;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Vocab.Messaging;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Whether the exchange a MassTransit response address names exists as a requester's bus declared it (a temporary fanout),
/// before the worker answers there. MassTransit declares the exchange it sends to, so a publisher (with a credential or
/// without) naming a new address on every message would have the worker create exchanges without end, and one declared
/// otherwise would have the broker close the channel; a requester's own bus endpoint exists already.
/// Exchanges found are remembered, and looked at again in the background each minute: a bridge's answers cost no extra
/// round trip. A lookup that fails is "not answered", never an exception (only the caller's own cancellation throws): an
/// answer not sent costs the requester a retry, whereas a failed message would be produced again.
/// </summary>
public sealed partial class ResponseExchanges(BrokerConnection broker, DirectReplies directReplies, TimeProvider time, ILogger<ResponseExchanges> logger)
{
    /// <summary>Where answers to a plain publisher's direct reply-to name go (kept beside the exchanges: the callers reach requesters through this type).</summary>
    public DirectReplies DirectReplies { get; } = directReplies;

    private const ushort NotFound = 404, OtherSettings = 406;
    private const int MaxRemembered = 10_000;
    private static readonly TimeSpan Remembered = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _found = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);

    // A name being looked up: answers to it wait for that one lookup. A requester's first burst (a bridge just started, a
    // worker just started) is many answers at once to one new name; each spending the budget dropped all past the 20th.
    private readonly ConcurrentDictionary<string, Task<bool?>> _lookingUp = new(StringComparer.Ordinal);

    // Looking up a name not remembered opens a channel, and the broker closes it when there is no such exchange: a flood of
    // made-up names may cost at most 20 lookups a second per caller (the unauthenticated share one), 200 in all; past it
    // they are not answered. Per caller: one caller's flood, with a credential or without, leaves another's new requester
    // answered; it takes ten colluding identities to reach the ceiling.
    private readonly LookupBudget _lookups = new(perCaller: 20, inAll: 200, time);

    /// <summary>
    /// True when <paramref name="exchange"/> exists on the worker's virtual host as a requester's; false when not, or not known. A lookup is
    /// charged to <paramref name="callerId"/> (the authenticated user; null for a message without a proven caller).
    /// </summary>
    public async Task<bool> ExistsAsync(string exchange, string? callerId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_found.TryGetValue(exchange, out var until))
        {
            // Found before: answered at once, and looked at again in the background once a minute, so a requester's answers
            // never wait on this lookup (nor on its connection during a node loss) and none is dropped by the budget.
            if (until <= now && _refreshing.TryAdd(exchange, 0))
                _ = RefreshAsync(exchange);
            return true;
        }
        var budget = callerId is null ? "" : "user:" + callerId;
        while (true)
        {
            var mine = new TaskCompletionSource<bool?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var pending = _lookingUp.GetOrAdd(exchange, mine.Task);
            if (pending == mine.Task)
                _ = RunLookupAsync(exchange, budget, now, mine);
            // Each waits with its own token; the lookup itself is no one caller's to cancel.
            if (await pending.WaitAsync(cancellationToken) is { } known)
                return known;
            // Over the budget of whoever looked first: this caller's own decides.
            if (pending == mine.Task)
                return false;
        }
    }

    /// <summary>One lookup for every answer waiting on <paramref name="exchange"/>: true or false, or null when over budget.</summary>
    private async Task RunLookupAsync(string exchange, string budget, DateTimeOffset now, TaskCompletionSource<bool?> lookup)
    {
        bool? result;
        try
        {
            // Found by a lookup that ended between the look above and taking this one's place.
            result = _found.ContainsKey(exchange) ? true : await LookUpAsync(exchange, budget, now);
        }
        catch (Exception e)
        {
            LogLookupFailed(logger, exchange, e);
            result = false;
        }
        // Out of the table before the answer is out: a caller trying again starts a lookup of its own.
        _lookingUp.TryRemove(KeyValuePair.Create(exchange, lookup.Task));
        lookup.SetResult(result);
    }

    // Not cancelled by any caller: the client's own operation timeouts end it.
    private async Task<bool?> LookUpAsync(string exchange, string budget, DateTimeOffset now)
    {
        if (!_lookups.TryTake(budget))
        {
            LogOverBudget(logger, exchange);
            return null;
        }
        try
        {
            await CheckRequesterExchangeAsync(exchange);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
        {
            LogNotFound(logger, exchange);
            return false;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == OtherSettings)
        {
            LogOtherSettings(logger, exchange);
            return false;
        }
        catch (Exception e)
        {
            // A client timeout included: not answered, rather than the message failed and produced again.
            LogLookupFailed(logger, exchange, e);
            return false;
        }
        if (_found.Count >= MaxRemembered)
            _found.Clear();
        _found[exchange] = now + Remembered;
        return true;
    }

    private async Task RefreshAsync(string exchange)
    {
        try
        {
            await CheckRequesterExchangeAsync(exchange);
            _found[exchange] = time.GetUtcNow() + Remembered;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode is NotFound or OtherSettings)
        {
            _found.TryRemove(exchange, out _);
        }
        catch (Exception e)
        {
            // Not known either way (a broker away): kept, and looked at again a minute on.
            _found[exchange] = time.GetUtcNow() + Remembered;
            LogLookupFailed(logger, exchange, e);
        }
        finally
        {
            _refreshing.TryRemove(exchange, out _);
        }
    }

    /// <summary>
    /// Throws <see cref="OperationInterruptedException"/> with code 404 when <paramref name="exchange"/> does not exist, 406
    /// when it exists with other settings than the temporary fanout exchange a requester's bus declares: MassTransit declares
    /// it that way as it answers, and the broker would refuse it and close the channel the answer went on.
    /// </summary>
    private async Task CheckRequesterExchangeAsync(string exchange)
    {
        var connection = await broker.GetAsync("vocab-worker-replies", CancellationToken.None);
        // Its own channel: the broker closes a channel whose declare it refuses.
        await using var channel = await connection.CreateChannelAsync();
        // Passive first, so that a name nobody declared is never created here.
        await channel.ExchangeDeclarePassiveAsync(exchange);
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: false, autoDelete: true);
    }

    /// <summary>Logs a response address not answered because it names no requester endpoint (<see cref="Vocab.Contracts.RequesterEndpoints"/>).</summary>
    public void NotARequester(string exchange) =>
        // Debug: any publisher chooses this text, one line per message. Printable characters only.
        LogNotARequester(logger, PublisherText.ForLog(exchange));

    /// <summary>Logs an answer the broker did not confirm within <c>Worker:SendTimeout</c>.</summary>
    public void NotConfirmed(TimeSpan timeout) => LogNotConfirmed(logger, timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not answered: the broker did not confirm the answer within Worker:SendTimeout ({Timeout})")]
    private static partial void LogNotConfirmed(ILogger logger, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Not answered: the response address names {Exchange}, which is not a requester endpoint (vocab-bridge-bus-…)")]
    private static partial void LogNotARequester(ILogger logger, string exchange);

    [LoggerMessage(Level = LogLevel.Information, Message = "Not answered: the response address names exchange {Exchange}, declared with other settings than a requester's")]
    private static partial void LogOtherSettings(ILogger logger, string exchange);

    [LoggerMessage(Level = LogLevel.Information, Message = "Not answered: the response address names exchange {Exchange}, which does not exist (the worker creates none for a requester)")]
    private static partial void LogNotFound(ILogger logger, string exchange);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Not answered: too many unknown response exchanges a second, {Exchange} not looked up")]
    private static partial void LogOverBudget(ILogger logger, string exchange);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not answered: could not look up response exchange {Exchange}")]
    private static partial void LogLookupFailed(ILogger logger, string exchange, Exception exception);
}
