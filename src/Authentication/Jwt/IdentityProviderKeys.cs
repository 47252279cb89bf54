using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// Keeps <see cref="JwtSigningKeys"/> supplied with an OpenID Connect provider's signing keys (<c>Jwt:Authority</c> or
/// <c>Jwt:JwksUri</c>), fetched through <c>ConfigurationManager</c>: every <see cref="JwtOptions.KeyRefreshInterval"/>,
/// and at once (at most every <see cref="JwtOptions.UnknownKeyRefreshInterval"/>) when a token names a <c>kid</c> not yet
/// known. While the provider cannot be reached the last keys fetched stay in use; start-up does not wait for it.
/// </summary>
public sealed partial class IdentityProviderKeys : BackgroundService
{
    /// <summary>The longest a fetch is waited for.</summary>
    public static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);

    private readonly JwtSigningKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<IdentityProviderKeys> _logger;
    private readonly JwtOptions _options;
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _manager;
    private readonly HttpClient? _http;
    private readonly ObservedRetriever? _observed;
    private readonly Lock _gate = new();
    private Task<bool>? _refreshing;
    private DateTimeOffset _lastUnknownKeyRefresh = DateTimeOffset.MinValue;
    private long _lastRequestTimestamp;

    /// <summary>Creates the configuration manager when a provider is configured.</summary>
    public IdentityProviderKeys(IOptions<JwtOptions> options, JwtSigningKeys keys, TimeProvider time, ILogger<IdentityProviderKeys> logger)
    {
        _keys = keys;
        _time = time;
        _logger = logger;
        _options = options.Value;
        if (!_options.UsesProvider)
            return;
        _http = new HttpClient { Timeout = FetchTimeout };
        var retriever = new HttpDocumentRetriever(_http) { RequireHttps = _options.RequireHttpsMetadata };
        var discovery = string.IsNullOrWhiteSpace(_options.JwksUri);
        _observed = new ObservedRetriever(discovery ? new OpenIdConnectConfigurationRetriever() : new JwksConfigurationRetriever(), Apply);
        _manager = new ConfigurationManager<OpenIdConnectConfiguration>(
            discovery ? _options.Authority!.TrimEnd('/') + "/.well-known/openid-configuration" : _options.JwksUri!, _observed, retriever);
        // This class owns the schedule (on TimeProvider); the manager's own throttle is kept out of the way.
        _manager.AutomaticRefreshInterval = TimeSpan.FromDays(1);
        _manager.RefreshInterval = BaseConfigurationManager.MinimumRefreshInterval;
    }

    /// <summary>Whether keys come from a provider at all.</summary>
    public bool Enabled => _manager is not null;

    /// <summary>Where the keys come from, for logs.</summary>
    public string Address => _manager?.MetadataAddress ?? "";

    /// <summary>
    /// A token named a <c>kid</c> no key has: fetch the provider's keys again, unless that was done less than
    /// <see cref="JwtOptions.UnknownKeyRefreshInterval"/> ago (so a stream of made-up <c>kid</c>s costs one fetch per
    /// interval). Concurrent callers share one fetch. Returns when the fetch is done or the throttle refused it.
    /// </summary>
    public async Task RefreshForUnknownKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        if (_manager is null)
            return;
        Task<bool> refresh;
        lock (_gate)
        {
            if (_refreshing is null)
            {
                var now = _time.GetUtcNow();
                if (now - _lastUnknownKeyRefresh < _options.UnknownKeyRefreshInterval)
                    return;
                _lastUnknownKeyRefresh = now;
                LogUnknownKey(_logger, keyId, Address);
            }
            refresh = RefreshAsync();
        }
        await refresh.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_manager is null)
            return;
        var retry = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            bool fetched;
            try
            {
                fetched = await RefreshAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever a provider answers must not stop the loop (nor, through it, the host): report and retry.
                LogFetchFailed(_logger, Address, e.GetType().Name, e.Message);
                fetched = false;
            }
            TimeSpan wait;
            if (fetched)
            {
                retry = TimeSpan.FromSeconds(1);
                wait = _options.KeyRefreshInterval;
            }
            else
            {
                wait = retry < _options.UnknownKeyRefreshInterval ? retry : _options.UnknownKeyRefreshInterval;
                retry += retry;
                LogProviderUnreachable(_logger, Address, _keys.ProvidedKeyIds.Count, wait);
            }
            try
            {
                await Task.Delay(wait, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _http?.Dispose();
        base.Dispose();
    }

    // One fetch at a time; callers arriving meanwhile share it.
    private Task<bool> RefreshAsync()
    {
        lock (_gate)
            return _refreshing ??= FetchAndApplyAsync();
    }

    private async Task<bool> FetchAndApplyAsync()
    {
        await Task.Yield();
        try
        {
            var manager = _manager!;
            var fetched = _observed!.NextFetchAsync();
            // The manager ignores a request made within its RefreshInterval (1 s, on the wall clock) of the previous one:
            // let that second pass rather than wait for a fetch that will not come.
            var sinceLast = System.Diagnostics.Stopwatch.GetElapsedTime(_lastRequestTimestamp);
            var spacing = manager.RefreshInterval + TimeSpan.FromMilliseconds(50);
            if (_lastRequestTimestamp != 0 && sinceLast < spacing)
                await Task.Delay(spacing - sinceLast);
            _lastRequestTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
            manager.RequestRefresh();
            try
            {
                // Without a configuration yet this fetches (and throws when it cannot); with one, the manager fetches in
                // the background and answers with what it holds.
                await manager.GetConfigurationAsync(CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Reported below through the observed fetch.
            }
            if (await Task.WhenAny(fetched, Task.Delay(FetchTimeout)) != fetched)
            {
                LogFetchFailed(_logger, Address, "timeout", $"no fetch finished within {FetchTimeout}");
                return false;
            }
            if (await fetched)
                return true;
            LogFetchFailed(_logger, Address, "error", _observed.LastError ?? "no usable keys");
            return false;
        }
        finally
        {
            lock (_gate)
                _refreshing = null;
        }
    }

    // Every fetch the manager makes, whoever asked for it, lands here.
    private bool Apply(OpenIdConnectConfiguration configuration)
    {
        var keys = (configuration.JsonWebKeySet?.Keys ?? []).Where(IsRsaSigningKey).ToList();
        // A provider answering with no usable key is treated as a failed fetch: the last good keys stay.
        if (keys.Count == 0)
        {
            LogNoUsableKeys(_logger, Address);
            return false;
        }
        _keys.ReplaceProvidedKeys(keys);
        LogKeysLoaded(_logger, Address, string.Join(", ", keys.Select(k => k.Kid)));
        return true;
    }

    private static bool IsRsaSigningKey(JsonWebKey key) =>
        key.Kty == JsonWebAlgorithmsKeyTypes.RSA && !string.IsNullOrEmpty(key.Kid)
        && (string.IsNullOrEmpty(key.Use) || key.Use == JsonWebKeyUseNames.Sig)
        && (string.IsNullOrEmpty(key.Alg) || key.Alg == SecurityAlgorithms.RsaSha256);

    /// <summary>
    /// Wraps the manager's retriever: applies every fetched configuration at once and tells whoever waits for the next
    /// fetch how it went (the manager itself fetches in the background and says nothing).
    /// </summary>
    private sealed class ObservedRetriever(IConfigurationRetriever<OpenIdConnectConfiguration> inner, Func<OpenIdConnectConfiguration, bool> apply)
        : IConfigurationRetriever<OpenIdConnectConfiguration>
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource<bool>? _next;

        public string? LastError { get; private set; }

        /// <summary>Completes with the outcome of the next fetch to finish: true when it brought usable keys.</summary>
        public Task<bool> NextFetchAsync()
        {
            lock (_gate)
                return (_next ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
        {
            try
            {
                var configuration = await inner.GetConfigurationAsync(address, retriever, cancel);
                Complete(apply(configuration));
                return configuration;
            }
            catch (Exception e)
            {
                LastError = $"{e.GetType().Name}: {e.InnerException?.Message ?? e.Message}";
                Complete(false);
                throw;
            }
        }

        private void Complete(bool fetched)
        {
            TaskCompletionSource<bool>? next;
            lock (_gate)
            {
                next = _next;
                _next = null;
            }
            next?.TrySetResult(fetched);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Signing keys loaded from the identity provider {Address}: {KeyIds}")]
    private static partial void LogKeysLoaded(ILogger logger, string address, string keyIds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Identity provider {Address} not reached; {KeyCount} keys from it in use, trying again in {Wait}")]
    private static partial void LogProviderUnreachable(ILogger logger, string address, int keyCount, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fetching signing keys from {Address} failed: {Error}: {Detail}")]
    private static partial void LogFetchFailed(ILogger logger, string address, string error, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Identity provider {Address} published no RS256 signing key with a kid; keeping the last keys")]
    private static partial void LogNoUsableKeys(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "A token names key {KeyId}, not yet known: fetching keys from {Address}")]
    private static partial void LogUnknownKey(ILogger logger, string keyId, string address);
}
