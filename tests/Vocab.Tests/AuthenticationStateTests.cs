using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests;

/// <summary>What authentication keeps in memory under a flood, and how often it asks MongoDB.</summary>
[Collection(HeavyLoadCollection.Name)]
public sealed class AuthenticationStateTests
{
    [Fact]
    public async Task Flood_OfDistinctJunkCredentials_StaysWithinTheCacheLimitAndMemoryBound()
    {
        const int limit = 300;
        await using var host = await AuthenticationOnlyHost.StartAsync(new Dictionary<string, string?> { ["Authentication:CacheEntryLimit"] = $"{limit}" });
        var cache = host.Get<LookupCache>();
        var padding = new string('x', 1_800);
        // Warm up so the baseline includes what every process allocates once.
        await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(ApiKeyFormat.Generate().Key, null), default);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        for (var i = 0; i < 4_000; i++)
        {
            // Junk JWTs of about 2 KB, signed with a key the service does not know, each distinct.
            var jwt = host.Tokens.Hs256($"junk-{i}-{padding}", secret: Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
            var result = await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer " + jwt), default);
            Assert.Equal(RejectionReasons.InvalidCredentials, result.FailureReason);
            if (i % 4 == 0)
                Assert.Equal(RejectionReasons.InvalidCredentials,
                    (await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(ApiKeyFormat.Generate().Key, null), default)).FailureReason);
        }
        var growth = GC.GetTotalMemory(forceFullCollection: true) - before;

        Assert.InRange(cache.Count, 1, limit);
        Assert.True(growth < 16 * 1024 * 1024, $"managed memory grew by {growth / 1024 / 1024} MB over 5,000 junk credentials");
    }

    [Fact]
    public async Task ConcurrentLookups_OfOneCredential_ShareOneMongoQuery()
    {
        await using var host = await AuthenticationOnlyHost.StartAsync();
        var key = ApiKeyFormat.Generate().Key;
        var before = host.CommandCount("find", ApiKeyStore.CollectionName);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            Task.Run(async () => await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(key, null), default))));

        Assert.All(results, r => Assert.Equal(RejectionReasons.InvalidCredentials, r.FailureReason));
        Assert.Equal(1, host.CommandCount("find", ApiKeyStore.CollectionName) - before);
    }

    [Fact]
    public async Task AllowedRoles_SetThroughEnvironmentVariables_ReplaceTheDefaults()
    {
        // A prefix of its own keeps this test's variables away from every other host in the process.
        var prefix = $"VOCABTEST_{Guid.NewGuid():N}_";
        Environment.SetEnvironmentVariable(prefix + "Authentication__AllowedRoles__0", "premium");
        try
        {
            await using var host = await AuthenticationOnlyHost.StartAsync(configure: c => c.AddEnvironmentVariables(prefix));

            var user = await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer " + host.Tokens.Hs256("u1", role: "user")), default);
            var premium = await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer " + host.Tokens.Hs256("u2", role: "premium")), default);

            Assert.Equal(RejectionReasons.Forbidden, user.FailureReason);
            Assert.True(premium.Succeeded);
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + "Authentication__AllowedRoles__0", null);
        }
    }
}
