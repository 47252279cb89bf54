using System.Net;
using System.Net.Sockets;

namespace Vocab.TestSupport;

/// <summary>
/// A loopback TCP proxy to one address that can stop passing bytes on while keeping every connection open: a broker that
/// went silent (a node stalled, a network partition) rather than one that refused, which a client sees only at its
/// next heartbeat.
/// </summary>
public sealed class PausableTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Task _accepting;
    private volatile TaskCompletionSource _resumed = NewGate(open: true);

    public PausableTcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes read from either side are held until <see cref="Resume"/>.</summary>
    public void Pause() => _resumed = NewGate(open: false);

    public void Resume() => _resumed.TrySetResult();

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
            gate.SetResult();
        return gate;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            }
            catch (Exception)
            {
                // The target refused, or the proxy stopped: this client is refused too, and the next is accepted.
                client.Dispose();
                upstream.Dispose();
                continue;
            }
            lock (_connections)
            {
                if (_stop.IsCancellationRequested)
                {
                    client.Dispose();
                    upstream.Dispose();
                    return;
                }
                _connections.AddRange([client, upstream]);
            }
            _ = PumpAsync(client.GetStream(), upstream.GetStream());
            _ = PumpAsync(upstream.GetStream(), client.GetStream());
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                    break;
                await _resumed.Task.WaitAsync(_stop.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // A side closed, or the proxy stopped: the other side is closed below.
        }
        try
        {
            to.Socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_connections)
        {
            _stop.Cancel();
            foreach (var connection in _connections)
                connection.Dispose();
        }
        _listener.Stop();
        _resumed.TrySetResult();
        await _accepting;
        _stop.Dispose();
    }
}
