using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>
/// A real worker and bridge taking tokens from a real OpenID provider (discovery at <c>Jwt:Authority</c>). The periodic
/// refresh is an hour here, so a rotation the services follow within a test was followed through the unknown-kid refresh.
/// </summary>
public sealed class OidcFixture : WorkerFixture
{
    // Null until InitializeAsync got that far: a start that failed is still disposed.
    public OidcProviderProcess Provider { get; private set; } = null!;

    public BridgeHost Bridge { get; private set; } = null!;

    protected override IDictionary<string, string?> ExtraConfiguration
    {
        get
        {
            var configuration = Provider.JwtConfiguration();
            configuration["Jwt:KeyRefreshInterval"] = "01:00:00";
            return configuration;
        }
    }

    public override async Task InitializeAsync()
    {
        Provider = await OidcProviderProcess.StartNewAsync();
        await base.InitializeAsync();
        var bridge = WorkerConfiguration();
        bridge["Authentication:CacheDuration"] = "00:00:01";
        bridge["Bridge:RequestTimeout"] = "00:00:20";
        Bridge = await BridgeHost.StartAsync(bridge);
        await Bridge.WaitUntilReadyAsync();
    }

    public override async Task DisposeAsync()
    {
        if (Bridge is not null)
            await Bridge.DisposeAsync();
        await base.DisposeAsync();
        if (Provider is not null)
            await Provider.DisposeAsync();
    }
}
