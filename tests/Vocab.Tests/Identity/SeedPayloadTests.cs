using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Contracts;
using Vocab.Tests.Attacks;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;
using Vocab.Vocabularies;

namespace Vocab.Tests.Identity;

/// <summary>The seed guide's own token payload, and tokens dated ahead, through the real worker and bridge.</summary>
public sealed class SeedPayloadTests(BridgeFixture fixture) : IClassFixture<BridgeFixture>
{
    /// <summary>Exactly what the guide shows, as PyJWT mints it: an integer user_id, no sub; plus the configured iss, aud and kid.</summary>
    private static string SeedToken(long userId, long? issuedAt = null, long? lifetime = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var iat = issuedAt ?? now;
        var payload = new JsonObject
        {
            ["user_id"] = userId,
            ["email"] = "learner@example.com",
            ["role"] = "user",
            ["exp"] = iat + (lifetime ?? 3600),
            ["iat"] = iat,
            ["jti"] = Guid.NewGuid().ToString(),
            ["iss"] = TestTokens.Issuer,
            ["aud"] = TestTokens.Audience,
        };
        return RawJwt.Sign(new JsonObject { ["alg"] = "HS256", ["typ"] = "JWT", ["kid"] = TestTokens.HmacKeyId }, payload);
    }

    [Fact]
    public async Task SeedPayload_WithIntegerUserId_IsServedOnTheBusAndStoredForItsDecimalString()
    {
        var request = WorkerFixture.NewRequest();

        var response = await fixture.RequestAsync(request, c => c.UseBearerToken(SeedToken(123)));

        Assert.True(response.Is(out Response<VocabularyGenerated>? generated), "the seed payload is served");
        Assert.Equal("123", generated!.Message.UserId);
        var stored = await fixture.Services.GetRequiredService<VocabularyStore>().FindByRequestIdAsync(request.RequestId, default);
        Assert.NotNull(stored);
        Assert.Equal("123", stored.UserId);
    }

    [Fact]
    public async Task SeedPayload_IsServedByTheBridge()
    {
        var response = await fixture.Bridge.Client.SendAsync(Post(SeedToken(124)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("124", (await response.Content.ReadFromJsonAsync<VocabularyGenerated>())!.UserId);
    }

    [Fact]
    public async Task TokenIssuedAYearAhead_IsRefusedOnTheBus()
    {
        var ahead = DateTimeOffset.UtcNow.AddDays(365).ToUnixTimeSeconds();
        var callsBefore = fixture.Llm.CallCount;

        var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(SeedToken(125, issuedAt: ahead)));

        Assert.True(response.Is(out Response<GenerateVocabularyRejected>? rejected), "a token dated ahead is refused");
        Assert.Equal(RejectionReasons.InvalidCredentials, rejected!.Message.Reason);
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
    }

    [Fact]
    public async Task TokenIssuedAYearAhead_IsRefusedByTheBridge()
    {
        var ahead = DateTimeOffset.UtcNow.AddDays(365).ToUnixTimeSeconds();

        var response = await fixture.Bridge.Client.SendAsync(Post(SeedToken(126, issuedAt: ahead)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TokenIssuedMinutesAhead_BeyondTheClockSkew_IsRefused_WithinIt_IsServed()
    {
        // The fixture's clock skew is 5 s.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var beyond = await fixture.Bridge.Client.SendAsync(Post(SeedToken(127, issuedAt: now + 120)));
        var within = await fixture.Bridge.Client.SendAsync(Post(SeedToken(128, issuedAt: now + 1)));

        Assert.Equal(HttpStatusCode.Unauthorized, beyond.StatusCode);
        Assert.Equal(HttpStatusCode.OK, within.StatusCode);
    }

    private static HttpRequestMessage Post(string bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/seed-{Guid.NewGuid():N}/vocabulary")
        {
            Content = JsonContent.Create(new { transcript = $"I love learning new words. {Guid.NewGuid():N}", sourceLanguage = "en", targetLanguage = "ko", maxItems = 3 }),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        return request;
    }
}
