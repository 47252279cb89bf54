namespace Vocab.Tests.Infrastructure;

/// <summary>A worker that gives up on an unconfirmed answer or event after 3 s (<c>Worker:SendTimeout</c>), so tests of a broker that refuses them run quickly.</summary>
public sealed class ShortSendTimeoutFixture : WorkerFixture
{
    protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
    {
        ["Worker:SendTimeout"] = "00:00:03",
    };
}
