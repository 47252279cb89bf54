using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>
/// A real OpenID provider (npm oidc-provider, installed by <c>scripts/services.sh oidc</c>) running
/// tests/OidcProvider/provider.mjs in a node process of its own: discovery, JWKS, RS256 access tokens by the
/// client_credentials grant, and key rotation on request.
/// </summary>
public sealed class OidcProviderProcess : IAsyncDisposable
{
    public const string Audience = "urn:vocab:api";
    public const string ClientId = "backend";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private Process? _process;

    private OidcProviderProcess(int port) => Port = port;

    public int Port { get; }

    public string Issuer => $"http://127.0.0.1:{Port}";

    /// <summary>The <c>kid</c> it signs with now.</summary>
    public string SigningKeyId { get; private set; } = "";

    /// <summary>
    /// A free loopback port (nothing listening yet), for a provider started later, or started again on the same port:
    /// below the kernel's ephemeral range, so no outgoing connection is given it in the meantime (a port the kernel
    /// hands out, as binding port 0 does, can be, and then the provider cannot start).
    /// </summary>
    public static int FreePort()
    {
        var below = EphemeralRangeStart();
        for (var attempt = 0; attempt < 100 && below > 20_000; attempt++)
        {
            var port = Random.Shared.Next(10_000, below);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0],
            System.Globalization.CultureInfo.InvariantCulture, out var start) ? start : 0;
    }

    /// <summary>A provider object for <paramref name="port"/>, not started: <see cref="StartAsync"/> starts it.</summary>
    public static OidcProviderProcess On(int port) => new(port);

    public static async Task<OidcProviderProcess> StartNewAsync()
    {
        var provider = new OidcProviderProcess(FreePort());
        await provider.StartAsync();
        return provider;
    }

    /// <summary>Starts (or starts again, with fresh keys) the node process on <see cref="Port"/>.</summary>
    public async Task StartAsync()
    {
        var module = RepositoryFiles.PathOf(".services/oidc/node_modules/oidc-provider/lib/index.js");
        if (!File.Exists(module))
            throw new InvalidOperationException($"oidc-provider is not installed at {module}: run scripts/services.sh oidc (or up).");
        var start = new ProcessStartInfo("node", [RepositoryFiles.PathOf("tests/OidcProvider/provider.mjs"), Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Audience])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["OIDC_PROVIDER_MODULE"] = module;
        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        try
        {
            // Generous: node loads the provider's modules from disk, slow on a loaded machine.
            using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(cancellation.Token)
                           ?? throw new InvalidOperationException($"the OpenID provider exited (code {(process.HasExited ? process.ExitCode : -1)}) before it was ready");
                if (line.StartsWith("ready ", StringComparison.Ordinal))
                {
                    SigningKeyId = line["ready ".Length..];
                    break;
                }
            }
        }
        catch
        {
            // Not left running behind a failed start (and the start's own error is the one reported).
            try
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
            throw;
        }
        _process = process;
    }

    /// <summary>Stops the node process (the provider is then down: its port refuses connections).</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
            return;
        _process = null;
        if (!process.HasExited)
            process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>An RS256 access token for the backend client, signed with the current key.</summary>
    public async Task<string> IssueTokenAsync()
    {
        using var response = await _http.PostAsync($"{Issuer}/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = ClientId,
            ["client_secret"] = "backend-secret-for-tests",
        }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token endpoint: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>Swaps in a new signing key; the old ones are dropped from the JWKS unless <paramref name="keepOld"/>.</summary>
    public async Task<string> RotateAsync(bool keepOld = false)
    {
        using var response = await _http.PostAsync($"{Issuer}/rotate{(keepOld ? "?keep=true" : "")}", null);
        response.EnsureSuccessStatusCode();
        SigningKeyId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("kid").GetString()!;
        return SigningKeyId;
    }

    /// <summary>The configuration a worker or bridge needs to take this provider's tokens.</summary>
    public Dictionary<string, string?> JwtConfiguration(bool discovery = true) => new()
    {
        ["Jwt:Issuer"] = Issuer,
        ["Jwt:Audience"] = Audience,
        [discovery ? "Jwt:Authority" : "Jwt:JwksUri"] = discovery ? Issuer : $"{Issuer}/jwks",
        ["Jwt:RequireHttpsMetadata"] = "false",
        ["Jwt:RoleClaim"] = "roles",
        ["Jwt:KeyRefreshInterval"] = "00:00:01",
        ["Jwt:UnknownKeyRefreshInterval"] = "00:00:01",
    };

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
    }
}
