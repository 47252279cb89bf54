using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>A real worker plus the real bridge in front of it, on the same broker and database.</summary>
public sealed class BridgeFixture : WorkerFixture
{
    public const int PermitsPerMinute = 5;

    public BridgeHost Bridge { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Bridge = await BridgeHost.StartAsync(BridgeConfiguration());
        await Bridge.WaitUntilReadyAsync();
    }

    /// <summary>
    /// The bridge's cache is made long on purpose: a credential revoked after the bridge cached it must still be
    /// refused by the worker, and the bridge must map that refusal.
    /// </summary>
    public Dictionary<string, string?> BridgeConfiguration(IDictionary<string, string?>? overrides = null)
    {
        var configuration = WorkerConfiguration();
        configuration["Authentication:CacheDuration"] = "00:00:30";
        configuration["Bridge:RequestTimeout"] = "00:00:20";
        configuration["Bridge:PermitsPerMinute"] = PermitsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
            configuration[key] = value;
        return configuration;
    }

    public override async Task DisposeAsync()
    {
        await Bridge.DisposeAsync();
        await base.DisposeAsync();
    }
}
