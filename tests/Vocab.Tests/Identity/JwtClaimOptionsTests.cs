using System.Text.Json.Nodes;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Contracts;
using Vocab.Tests.Attacks;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.Identity;

/// <summary>
/// The JWT claim options (user id and role claims, optional jti, lifetime from now) and how failures are classed, on the
/// shared validator the worker and the bridge both call, over a real MongoDB.
/// </summary>
public sealed class JwtClaimOptionsTests
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task<AuthenticationResult> CheckAsync(AuthenticationOnlyHost host, JsonObject claims, string secret = TestTokens.HmacSecret) =>
        await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer " + RawJwt.Sign(RawJwt.Header(), claims, secret)), default);

    private static JsonObject Claims(Action<JsonObject> change)
    {
        var claims = RawJwt.Claims("someone");
        change(claims);
        return claims;
    }

    [Theory]
    [InlineData("123", "123")]
    [InlineData("0", "0")]
    [InlineData("-7", "-7")]
    [InlineData("12345678901234567890123", "12345678901234567890123")]
    [InlineData("1.0", null)]
    [InlineData("1.5", null)]
    [InlineData("1e3", null)]
    [InlineData("true", null)]
    [InlineData("[1]", null)]
    [InlineData("{\"id\":1}", null)]
    [InlineData("null", null)]
    public async Task UserId_IntegerIsItsDecimalString_AnyOtherNonStringIsRefused(string userIdJson, string? expected)
    {
        await using var host = await AuthenticationOnlyHost.StartAsync();

        var result = await CheckAsync(host, Claims(c => { c.Remove("sub"); c["user_id"] = JsonNode.Parse(userIdJson); }));

        Assert.Equal(expected, result.Caller?.UserId);
        if (expected is null)
            Assert.Equal(RejectionReasons.InvalidCredentials, result.FailureReason);
    }

    /// <summary>
    /// The tokens vocabctl and the ops console mint (a dead-letter replay's among them) use the configured claim names: with
    /// <c>sub</c> and <c>role</c> always, every replay under other names was refused and its failure lost.
    /// </summary>
    [Theory]
    [InlineData(null, null)]
    [InlineData("uid", "roles")]
    public async Task IssuedTokens_UseTheConfiguredClaimNames_AndAreAccepted(string? userIdClaim, string? roleClaim)
    {
        var settings = new Dictionary<string, string?>();
        if (userIdClaim is not null)
            settings["Jwt:UserIdClaim"] = userIdClaim;
        if (roleClaim is not null)
            settings["Jwt:RoleClaim"] = roleClaim;
        await using var host = await AuthenticationOnlyHost.StartAsync(settings);
        var issuer = new Vocab.Failures.JwtTokenIssuer(host.Get<Microsoft.Extensions.Options.IOptions<JwtOptions>>(), TimeProvider.System);
        var (token, tokenId, _) = issuer.Issue("replayed-user", Roles.Premium, TimeSpan.FromMinutes(5));

        var result = await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer " + token), default);

        Assert.Equal(("replayed-user", Roles.Premium, tokenId), (result.Caller?.UserId, result.Caller?.Role, result.Caller?.TokenId));
    }

    [Fact]
    public async Task UserIdAndRoleClaims_NameTheProvidersClaims_AndARolesArrayNeedsExactlyOneKnownRole()
    {
        await using var host = await AuthenticationOnlyHost.StartAsync(new Dictionary<string, string?>
        {
            ["Jwt:UserIdClaim"] = "uid",
            ["Jwt:RoleClaim"] = "roles",
        });
        JsonObject With(JsonNode? roles) => Claims(c => { c.Remove("sub"); c.Remove("role"); c["uid"] = 42; c["roles"] = roles; });

        var single = await CheckAsync(host, With(new JsonArray("offline_access", "premium", "uma_authorization")));
        var asString = await CheckAsync(host, With("user"));
        var two = await CheckAsync(host, With(new JsonArray("user", "admin")));
        var none = await CheckAsync(host, With(new JsonArray("offline_access")));
        var mixed = await CheckAsync(host, With(new JsonArray("user", 1)));
        var subIgnored = await CheckAsync(host, Claims(c => { c["roles"] = "user"; }));

        Assert.Equal(("42", Roles.Premium), (single.Caller?.UserId, single.Caller?.Role));
        Assert.Equal(Roles.User, asString.Caller?.Role);
        Assert.False(two.Succeeded, "two known roles are ambiguous");
        Assert.False(none.Succeeded, "no known role");
        Assert.False(mixed.Succeeded, "a non-string element");
        Assert.False(subIgnored.Succeeded, "with Jwt:UserIdClaim set, sub is not read");
    }

    [Fact]
    public async Task TokenWithoutJti_IsRefusedByDefault()
    {
        await using var host = await AuthenticationOnlyHost.StartAsync();

        var result = await CheckAsync(host, Claims(c => c.Remove("jti")));

        Assert.Equal(RejectionReasons.InvalidCredentials, result.FailureReason);
    }

    [Fact]
    public async Task TokenWithoutJti_WithRequireTokenIdOff_IsAccepted_AndRevokedOnlyWithItsUser()
    {
        await using var host = await AuthenticationOnlyHost.StartAsync(new Dictionary<string, string?> { ["Jwt:RequireTokenId"] = "false", ["Authentication:CacheDuration"] = "00:00:00" });
        var user = $"no-jti-{Guid.NewGuid():N}";
        var claims = Claims(c => { c.Remove("jti"); c["sub"] = user; c["iat"] = Now - 60; });
        var jtiNumber = Claims(c => c["jti"] = 5);

        var before = await CheckAsync(host, claims);
        var badJti = await CheckAsync(host, jtiNumber);
        await host.Get<TokenBlacklist>().RevokeUserAsync(user, DateTime.UtcNow, default);
        var after = await CheckAsync(host, claims);

        Assert.True(before.Succeeded);
        Assert.Null(before.Caller!.TokenId);
        Assert.False(badJti.Succeeded, "a jti that is there must still be one string");
        Assert.Equal(RejectionReasons.RevokedCredentials, after.FailureReason);
    }

    [Fact]
    public async Task Lifetime_IsJudgedFromNowAsWellAsFromIat()
    {
        await using var host = await AuthenticationOnlyHost.StartAsync(new Dictionary<string, string?> { ["Jwt:MaxLifetime"] = "01:00:00" });

        // exp − iat is 1 h, but iat is 10 min ahead (within no skew): exp is 70 min from now.
        var aheadOfNow = await CheckAsync(host, Claims(c => { c["iat"] = Now + 600; c["nbf"] = Now - 10; c["exp"] = Now + 4200; }));
        var noIatTooLong = await CheckAsync(host, Claims(c => { c.Remove("iat"); c["exp"] = Now + 4200; }));
        var fine = await CheckAsync(host, Claims(c => { c["iat"] = Now - 1800; c["exp"] = Now + 1700; }));

        Assert.Equal(RejectionReasons.InvalidCredentials, aheadOfNow.FailureReason);
        Assert.Equal(RejectionReasons.InvalidCredentials, noIatTooLong.FailureReason);
        Assert.True(fine.Succeeded);
    }

    [Fact]
    public async Task Failures_AreClassedAsGuessesOnlyWhenNothingProvedTheCredentialGenuine()
    {
        await using var host = await AuthenticationOnlyHost.StartAsync();
        var (_, revokedKey) = await CreateKeyAsync(host, active: false);
        var (_, expiredKey) = await CreateKeyAsync(host, expiresAt: DateTime.UtcNow.AddMinutes(-1));
        var (_, guestKey) = await CreateKeyAsync(host, role: "guest");
        const string wrongSecret = "another-secret-that-is-long-enough-0123456789";
        var expired = Claims(c => { c["iat"] = Now - 7200; c["nbf"] = Now - 7200; c["exp"] = Now - 3600; });

        async Task<AuthenticationResult> Key(string key) => await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(key, null), default);

        var guesses = new[]
        {
            await Key(ApiKeyFormat.Generate().Key),
            await Key("not-a-key"),
            await CheckAsync(host, RawJwt.Claims(), wrongSecret),
            await CheckAsync(host, expired, wrongSecret),
            await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer " + RawJwt.Sign(RawJwt.Header(kid: "nobody"), RawJwt.Claims())), default),
            await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Bearer a.b.c"), default),
            await host.Validator.ValidateAsync(PresentedCredential.FromHeaders(null, "Basic x"), default),
        };
        var genuine = new[]
        {
            await Key(revokedKey),
            await Key(expiredKey),
            await Key(guestKey),
            await CheckAsync(host, expired),
            await CheckAsync(host, Claims(c => c["aud"] = "someone-else")),
            await CheckAsync(host, Claims(c => c.Remove("jti"))),
            await CheckAsync(host, Claims(c => c["iat"] = Now + 3600)),
        };

        Assert.All(guesses, r => Assert.True(r is { Succeeded: false, IsPossibleGuess: true }, r.FailureDetail));
        Assert.All(genuine, r => Assert.True(r is { Succeeded: false, IsPossibleGuess: false }, r.FailureDetail));
        // The library checks the signature before the lifetime: an expired forgery is no "expired" credential.
        Assert.Equal(RejectionReasons.InvalidCredentials, guesses[3].FailureReason);
    }

    private static async Task<(string KeyId, string Key)> CreateKeyAsync(AuthenticationOnlyHost host, bool active = true, DateTime? expiresAt = null, string role = Roles.User)
    {
        var store = host.Get<ApiKeyStore>();
        var (key, stored) = await store.CreateAsync($"classed-{Guid.NewGuid():N}", role, DateTime.UtcNow, expiresAt);
        if (!active)
            await store.RevokeAsync(stored.KeyId, DateTime.UtcNow, CancellationToken.None);
        return (stored.KeyId, key);
    }
}
