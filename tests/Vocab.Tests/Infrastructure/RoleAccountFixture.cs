using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>
/// The worker and the bridge each on its own broker account, with the permissions rabbitmq/definitions.json gives
/// that role, recreated on the test's virtual host; the publisher, ops and events accounts alongside for the tests.
/// </summary>
public sealed class RoleAccountFixture : WorkerFixture
{
    public RabbitMqRoleAccounts Accounts { get; private set; } = null!;

    public BridgeHost Bridge { get; private set; } = null!;

    protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
    {
        ["ConnectionStrings:RabbitMq"] = Accounts.AmqpUri(RabbitMqRoleAccounts.Worker).ToString(),
        // Premium callers get one request per second, so a burst takes the worker's delay queues (declared on its account).
        ["Plans:narrow:RequestsPerMinute"] = "1",
        ["Plans:RoleMap:premium"] = "narrow",
        ["RateLimits:Window"] = "00:00:01",
        ["RateLimits:MaxDelay"] = "00:01:00",
    };

    protected override async Task PrepareVirtualHostAsync() => Accounts = await RabbitMqRoleAccounts.CreateAsync(VirtualHost);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var configuration = WorkerConfiguration();
        configuration["ConnectionStrings:RabbitMq"] = Accounts.AmqpUri(RabbitMqRoleAccounts.Bridge).ToString();
        configuration["Bridge:RequestTimeout"] = "00:00:20";
        Bridge = await BridgeHost.StartAsync(configuration);
        await Bridge.WaitUntilReadyAsync();
    }

    public override async Task DisposeAsync()
    {
        await Bridge.DisposeAsync();
        await base.DisposeAsync();
        await Accounts.DisposeAsync();
    }
}
