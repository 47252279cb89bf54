using System.Security.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Vocab.Messaging;

/// <summary>
/// A process's one plain RabbitMQ.Client connection beside its bus (the failure ingestor and replays, the worker's delay
/// queue sweep), on the account of <c>ConnectionStrings:RabbitMq</c> with the process's cluster nodes and TLS settings.
/// </summary>
public sealed class BrokerConnection(IConfiguration configuration, IOptions<RabbitMqConnectionOptions> tls) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private bool _disposed;

    /// <summary>The open connection, made on first use and again after it was closed.</summary>
    public async Task<IConnection> GetAsync(string clientName, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is { IsOpen: true })
                return _connection;
            if (_connection is not null)
                await _connection.DisposeAsync();
            var setting = configuration.GetConnectionString("RabbitMq") ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq is required.");
            var address = RabbitMqTls.ClientAddress(new Uri(setting));
            var options = tls.Value;
            var factory = new ConnectionFactory
            {
                Uri = address,
                ClientProvidedName = clientName,
                // Thrown from the handshake, this names the setting to fix.
                Ssl = RabbitMqTls.SslOption(address, options, why => throw new AuthenticationException($"RabbitMQ refused over TLS: {why}")),
                AutomaticRecoveryEnabled = false,
            };
            _connection = options.Hosts is { Length: > 0 } hosts
                ? await factory.CreateConnectionAsync(hosts.Select(h => AmqpTcpEndpoint.Parse(h))
                    .Select(e => new AmqpTcpEndpoint(e.HostName, e.Port > 0 ? e.Port : address.Port, factory.Ssl)).ToList(), cancellationToken)
                : await factory.CreateConnectionAsync(cancellationToken);
            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Under the gate, so a connection being made is not left open; aborted, since a connection lost with its node
        // cannot be closed politely. The gate is left undisposed: a late caller waits on it and finds the connection gone.
        await _gate.WaitAsync();
        try
        {
            if (_connection is not null)
            {
                await _connection.AbortAsync();
                await _connection.DisposeAsync();
                _connection = null;
            }
            _disposed = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
