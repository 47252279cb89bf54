using MongoDB.Bson;
using MongoDB.Driver;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests;

/// <summary>What a started worker sets up by itself: its indexes on an empty database, and its readiness file.</summary>
public sealed class WorkerStartupTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>
{
    [Fact]
    public async Task Worker_OnEmptyDatabase_CreatesItsIndexes()
    {
        var expected = new Dictionary<string, string[]>
        {
            ["api_keys"] = ["hash_unique", "user"],
            ["token_revocations"] = ["expires_ttl"],
            ["vocabularies"] = ["user_video_newest", "user_newest"],
        };
        foreach (var (collection, names) in expected)
        {
            var indexes = await Eventually(async () =>
            {
                var list = await (await fixture.Database.GetCollection<BsonDocument>(collection).Indexes.ListAsync()).ToListAsync();
                return names.All(n => list.Any(i => i["name"] == n)) ? list : null;
            });
            if (collection == "api_keys")
                Assert.True(indexes.Single(i => i["name"] == "hash_unique")["unique"].ToBoolean());
            if (collection == "token_revocations")
                Assert.Equal(0, indexes.Single(i => i["name"] == "expires_ttl")["expireAfterSeconds"].ToInt32());
        }
    }

    [Fact]
    public async Task Worker_WhenReady_TouchesItsHealthFile()
    {
        var touched = await Eventually(() => Task.FromResult(File.Exists(fixture.HealthFilePath) ? File.ReadAllText(fixture.HealthFilePath) : null));
        Assert.True(DateTimeOffset.UtcNow - DateTimeOffset.Parse(touched, System.Globalization.CultureInfo.InvariantCulture) < TimeSpan.FromSeconds(30));
    }

    private static async Task<T> Eventually<T>(Func<Task<T?>> probe) where T : class
    {
        for (var i = 0; i < 50; i++)
        {
            if (await probe() is { } value)
                return value;
            await Task.Delay(100);
        }
        throw new TimeoutException("indexes were not created");
    }
}
