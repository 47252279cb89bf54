using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Authentication.ApiKeys;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests.Attacks;

/// <summary>
/// The attack corpus: JWT forgeries and malformations, API key oddities, header oddities, envelope oddities, body fuzz
/// and forged Vocab-* headers. Each case names what the worker and the bridge must answer.
/// </summary>
public static class AttackCorpus
{
    // A message no consumer handles never meets authentication: refused, metadata only.
    public const string Skipped = RejectionReasons.UnhandledMessageType;
    private const string Invalid = RejectionReasons.InvalidCredentials;
    private const string Expired = RejectionReasons.ExpiredCredentials;
    private const string Revoked = RejectionReasons.RevokedCredentials;
    private const string Missing = RejectionReasons.MissingCredentials;
    private const string BadRequest = RejectionReasons.InvalidRequest;

    public static async Task<IReadOnlyList<AttackCase>> BuildAsync(WorkerFixture fixture)
    {
        var cases = new List<AttackCase>();
        var (validKeyId, validKey) = await fixture.CreateApiKeyAsync("corpus-valid");
        // An id of hex digits only (about 1 in 280) upper-cases to itself: the uppercase-id case needs a letter in it.
        while (!validKeyId.Any(char.IsAsciiLetterLower))
            (validKeyId, validKey) = await fixture.CreateApiKeyAsync("corpus-valid");
        var (_, revokedKey) = await fixture.CreateApiKeyAsync("corpus-revoked", active: false);
        var (_, expiredKey) = await fixture.CreateApiKeyAsync("corpus-expired", expiresAt: DateTime.UtcNow.AddMinutes(-1));
        var tokens = fixture.Tokens;

        void Bearer(string name, string token, string reason, params int[] statuses) =>
            cases.Add(new AttackCase("jwt/" + name, new Dictionary<string, object?> { [VocabHeaders.Authorization] = "Bearer " + token },
                Set(reason), statuses.Length == 0 ? Set(401) : Set(statuses)));
        void Key(string name, object? value, string reason, params int[] statuses) =>
            cases.Add(new AttackCase("key/" + name, new Dictionary<string, object?> { [VocabHeaders.ApiKey] = value },
                Set(reason), value is string ? (statuses.Length == 0 ? Set(401) : Set(statuses)) : Set<int>()));

        // JWT forgeries: algorithms and keys.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var alg in new[] { "none", "None", "NONE", "nOnE" })
            Bearer($"alg-{alg}", RawJwt.Encode(RawJwt.Header(alg).ToJsonString()) + "." + RawJwt.Encode(RawJwt.Claims().ToJsonString()) + ".", Invalid);
        Bearer("wrong-secret", RawJwt.Sign(RawJwt.Header(), RawJwt.Claims(), "another-secret-that-is-long-enough-0123456789"), Invalid);
        Bearer("hs256-keyed-with-rsa-public-key", tokens.Hs256SignedWithRsaPublicKey("attacker"), Invalid);
        Bearer("hs256-keyed-with-rsa-public-key-rs-kid", RawJwt.Sign(RawJwt.Header(kid: TestTokens.RsaKeyId), RawJwt.Claims(), tokens.RsaPublicKeyPem), Invalid);
        Bearer("hs512-right-secret", RawJwt.Sign(RawJwt.Header("HS512"), RawJwt.Claims(), hmac512: true), Invalid);
        Bearer("rs256-header-hs-signature", RawJwt.Sign(RawJwt.Header("RS256", TestTokens.RsaKeyId), RawJwt.Claims()), Invalid);
        Bearer("unknown-kid", RawJwt.Sign(RawJwt.Header(kid: "nobody"), RawJwt.Claims()), Invalid);
        Bearer("no-kid-with-two-keys", RawJwt.Sign(RawJwt.Header(kid: null), RawJwt.Claims()), Invalid);
        Bearer("empty-kid", RawJwt.Sign(RawJwt.Header(kid: ""), RawJwt.Claims()), Invalid);
        Bearer("kid-path-traversal", RawJwt.Sign(RawJwt.Header(kid: "../../etc/passwd"), RawJwt.Claims()), Invalid);
        Bearer("kid-number", RawJwt.Sign(new JsonObject { ["alg"] = "HS256", ["kid"] = 7, ["typ"] = "JWT" }, RawJwt.Claims()), Invalid);
        Bearer("jwk-in-header", RawJwt.Sign(new JsonObject { ["alg"] = "HS256", ["jwk"] = new JsonObject { ["kty"] = "oct", ["k"] = "AAAA" } }, RawJwt.Claims()), Invalid);
        Bearer("spliced-signature", Splice(RawJwt.Sign(RawJwt.Header(), RawJwt.Claims("victim")), RawJwt.Sign(RawJwt.Header(), RawJwt.Claims("attacker"))), Invalid);
        Bearer("signature-stripped", string.Join('.', RawJwt.Sign(RawJwt.Header(), RawJwt.Claims()).Split('.')[..2]) + ".", Invalid);
        Bearer("signature-flipped", Flip(RawJwt.Sign(RawJwt.Header(), RawJwt.Claims())), Invalid);

        // JWT claims: lifetime, issuer, audience, identities, roles, types.
        JsonObject With(Action<JsonObject> change) { var c = RawJwt.Claims(); change(c); return c; }
        Bearer("expired", RawJwt.Sign(RawJwt.Header(), With(c => { c["iat"] = now - 7200; c["nbf"] = now - 7200; c["exp"] = now - 3600; })), Expired);
        Bearer("not-yet-valid", RawJwt.Sign(RawJwt.Header(), With(c => c["nbf"] = now + 3600)), Invalid);
        Bearer("no-exp", RawJwt.Sign(RawJwt.Header(), With(c => c.Remove("exp"))), Invalid);
        Bearer("exp-string", RawJwt.Sign(RawJwt.Header(), With(c => c["exp"] = "tomorrow")), Invalid);
        Bearer("exp-near-max-date", RawJwt.Sign(RawJwt.Header(), With(c => c["exp"] = 253402300799)), Invalid);
        Bearer("exp-past-max-date", RawJwt.Sign(RawJwt.Header(), With(c => c["exp"] = 253402300800)), Invalid);
        Bearer("exp-huge", RawJwt.Sign(RawJwt.Header(), With(c => c["exp"] = 1e300)), Invalid);
        cases.Add(new AttackCase("jwt/exp-negative", new Dictionary<string, object?> { [VocabHeaders.Authorization] = "Bearer " + RawJwt.Sign(RawJwt.Header(), With(c => c["exp"] = -1)) },
            Set(Invalid, Expired), Set(401)));
        Bearer("lifetime-48h", RawJwt.Sign(RawJwt.Header(), With(c => c["exp"] = now + 48 * 3600)), Invalid);
        Bearer("lifetime-48h-no-iat", RawJwt.Sign(RawJwt.Header(), With(c => { c.Remove("iat"); c["exp"] = now + 48 * 3600; })), Invalid);
        Bearer("wrong-issuer", RawJwt.Sign(RawJwt.Header(), With(c => c["iss"] = "https://evil.example")), Invalid);
        Bearer("issuer-array", RawJwt.Sign(RawJwt.Header(), With(c => c["iss"] = new JsonArray(TestTokens.Issuer, "x"))), Invalid);
        Bearer("wrong-audience", RawJwt.Sign(RawJwt.Header(), With(c => c["aud"] = "someone-else")), Invalid);
        Bearer("no-audience", RawJwt.Sign(RawJwt.Header(), With(c => c.Remove("aud"))), Invalid);
        Bearer("no-jti", RawJwt.Sign(RawJwt.Header(), With(c => c.Remove("jti"))), Invalid);
        Bearer("jti-number", RawJwt.Sign(RawJwt.Header(), With(c => c["jti"] = 12345)), Invalid);
        Bearer("jti-array", RawJwt.Sign(RawJwt.Header(), With(c => c["jti"] = new JsonArray("a", "b"))), Invalid);
        Bearer("no-sub", RawJwt.Sign(RawJwt.Header(), With(c => c.Remove("sub"))), Invalid);
        // An integer sub or user_id is an identity (the seed's own payload); any other number is refused, not coerced.
        Bearer("sub-fraction", RawJwt.Sign(RawJwt.Header(), With(c => c["sub"] = 42.5)), Invalid);
        Bearer("sub-exponent", RawJwt.Sign(RawJwt.Header(), With(c => c["sub"] = JsonNode.Parse("4e1"))), Invalid);
        Bearer("sub-integer-written-as-float", RawJwt.Sign(RawJwt.Header(), With(c => c["sub"] = JsonNode.Parse("42.0"))), Invalid);
        Bearer("sub-bool", RawJwt.Sign(RawJwt.Header(), With(c => c["sub"] = true)), Invalid);
        Bearer("sub-array", RawJwt.Sign(RawJwt.Header(), With(c => c["sub"] = new JsonArray(42))), Invalid);
        Bearer("sub-object", RawJwt.Sign(RawJwt.Header(), With(c => c["sub"] = new JsonObject { ["id"] = "x" })), Invalid);
        Bearer("user-id-fraction", RawJwt.Sign(RawJwt.Header(), With(c => { c.Remove("sub"); c["user_id"] = 7.5; })), Invalid);
        Bearer("bad-sub-with-good-user-id", RawJwt.Sign(RawJwt.Header(), With(c => { c["sub"] = true; c["user_id"] = "someone"; })), Invalid);
        Bearer("iat-in-a-year", RawJwt.Sign(RawJwt.Header(), With(c => { c["iat"] = now + 365 * 86400; c["nbf"] = now - 10; c["exp"] = now + 365 * 86400 + 3600; })), Invalid);
        Bearer("iat-in-the-future", RawJwt.Sign(RawJwt.Header(), With(c => c["iat"] = now + 600)), Invalid);
        Bearer("sub-empty", RawJwt.Sign(RawJwt.Header(), With(c => c["sub"] = "")), Invalid);
        foreach (var role in new[] { "superuser", "Admin", "ADMIN", " admin", "admin ", "", "user,admin" })
            Bearer($"role-{role.Replace(' ', '_')}", RawJwt.Sign(RawJwt.Header(), RawJwt.Claims(role: role)), Invalid);
        Bearer("role-missing", RawJwt.Sign(RawJwt.Header(), RawJwt.Claims(role: null)), Invalid);
        Bearer("role-array", RawJwt.Sign(RawJwt.Header(), With(c => c["role"] = new JsonArray("user", "admin"))), Invalid);
        Bearer("role-array-none-known", RawJwt.Sign(RawJwt.Header(), With(c => c["role"] = new JsonArray("Admin", "offline_access"))), Invalid);
        Bearer("role-array-with-number", RawJwt.Sign(RawJwt.Header(), With(c => c["role"] = new JsonArray("user", 1))), Invalid);
        Bearer("role-number", RawJwt.Sign(RawJwt.Header(), With(c => c["role"] = 1)), Invalid);
        Bearer("role-bool", RawJwt.Sign(RawJwt.Header(), With(c => c["role"] = true)), Invalid);
        Bearer("role-object", RawJwt.Sign(RawJwt.Header(), With(c => c["role"] = new JsonObject { ["name"] = "admin" })), Invalid);
        Bearer("role-null", RawJwt.Sign(RawJwt.Header(), With(c => c["role"] = null)), Invalid);
        foreach (var typ in new[] { "JWE", "jwt+evil", "secevent+jwt", "" + "at+JWTX" })
            Bearer($"typ-{typ}", RawJwt.Sign(RawJwt.Header(typ: typ), RawJwt.Claims()), Invalid);
        var revokedJti = Guid.NewGuid().ToString("N");
        await fixture.Services.GetRequiredService<Authentication.Jwt.TokenBlacklist>().RevokeAsync(revokedJti, DateTime.UtcNow.AddHours(1), DateTime.UtcNow, default);
        Bearer("blacklisted-jti", RawJwt.Sign(RawJwt.Header(), With(c => c["jti"] = revokedJti)), Revoked);

        // JWT malformations.
        foreach (var (name, token) in new[]
                 {
                     ("two-parts", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"), ("four-parts", "a.b.c.d"), ("dots", "..."),
                     ("not-base64", "e$$.f%%.g^^"), ("header-not-json", RawJwt.Encode("not json") + "." + RawJwt.Encode("{}") + ".sig"),
                     ("payload-not-json", RawJwt.Encode("{\"alg\":\"HS256\"}") + "." + RawJwt.Encode("not json") + ".sig"),
                     ("payload-array", RawJwt.Encode("{\"alg\":\"HS256\"}") + "." + RawJwt.Encode("[1,2]") + ".sig"),
                     ("deep-header", RawJwt.Encode(new string('[', 5000) + new string(']', 5000)) + ".e30.sig"),
                     ("unicode", "éyJ.ü.ñ"), ("spaces-inside", "eyJ hbG.ciO.iJIUz"),
                     ("jwe-five-parts", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"),
                     ("long-2k", "eyJhbGciOiJIUzI1NiJ9." + new string('A', 2_000) + ".sig"),
                 })
            Bearer(name, token, Invalid);
        cases.Add(new AttackCase("jwt/huge-60k", new Dictionary<string, object?> { [VocabHeaders.Authorization] = "Bearer eyJ" + new string('A', 60_000) + ".e30.x" },
            Set(Invalid), Set(401, 431)));
        for (var i = 0; i < 25; i++)
            Bearer($"random-{i}", RandomJwtShape(i), Invalid);

        // Authorization header oddities.
        var good = RawJwt.Sign(RawJwt.Header(), RawJwt.Claims("corpus-jwt"));
        void Auth(string name, string value, string reason) =>
            cases.Add(new AttackCase("authorization/" + name, new Dictionary<string, object?> { [VocabHeaders.Authorization] = value }, Set(reason), Set(401)));
        Auth("basic-scheme", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + good)), Invalid);
        Auth("scheme-only", "Bearer", Invalid);
        Auth("scheme-and-spaces", "Bearer    ", Invalid);
        Auth("no-scheme", good, Invalid);
        Auth("token-then-garbage", "Bearer " + good + " extra", Invalid);
        Auth("two-tokens-comma", "Bearer " + good + ", Bearer " + good, Invalid);
        Auth("digest-scheme", "Digest " + good, Invalid);

        // API keys.
        Key("unknown-well-formed", ApiKeyFormat.Generate().Key, Invalid);
        Key("wrong-prefix", "VOCAB_" + validKey[6..], Invalid);
        Key("uppercase-id", "vocab_" + validKeyId.ToUpperInvariant() + validKey[(6 + validKeyId.Length)..], Invalid);
        Key("valid-id-wrong-secret", $"vocab_{validKeyId}_{new string('A', 43)}", Invalid);
        Key("valid-key-plus-garbage", validKey + "x", Invalid);
        Key("valid-key-truncated", validKey[..^1], Invalid);
        Key("id-only", $"vocab_{validKeyId}_", Invalid);
        Key("revoked", revokedKey, Revoked);
        Key("expired", expiredKey, Expired);
        Key("sql-ish", "vocab_' OR 1=1 --_x", Invalid);
        Key("mongo-operator", "{\"$ne\": null}", Invalid);
        Key("regex", "vocab_.*_.*", Invalid);
        Key("long-10k", "vocab_" + new string('a', 12) + "_" + new string('z', 10_000), Invalid);
        Key("null-byte", "vocab_" + validKeyId + "_\0" + new string('A', 42), Invalid);
        Key("bytes-invalid-utf8", new byte[] { 0x76, 0x6f, 0xff, 0xfe, 0x00, 0xc3 }, Invalid);
        Key("number", 42, Invalid);
        Key("list", new List<object> { Encoding.UTF8.GetBytes(ApiKeyFormat.Generate().Key), Encoding.UTF8.GetBytes(ApiKeyFormat.Generate().Key) }, Invalid);
        Key("table", new Dictionary<string, object?> { ["key"] = Encoding.UTF8.GetBytes(ApiKeyFormat.Generate().Key) }, Invalid);
        Key("bool", true, Invalid);
        Key("empty", "", Missing, 401);
        Key("whitespace", "   ", Missing, 401);

        // Header oddities: both credentials, casing, duplicates, forged Vocab-* headers.
        var junk = ApiKeyFormat.Generate().Key;
        cases.Add(new AttackCase("headers/both-credentials", new Dictionary<string, object?> { [VocabHeaders.ApiKey] = junk, [VocabHeaders.Authorization] = "Bearer " + good }, Set(Invalid), Set(401)));
        cases.Add(new AttackCase("headers/lowercase-name", new Dictionary<string, object?> { ["x-api-key"] = ApiKeyFormat.Generate().Key }, Set(Invalid, Missing), Set(401)));
        cases.Add(new AttackCase("headers/uppercase-name", new Dictionary<string, object?> { ["X-API-KEY"] = ApiKeyFormat.Generate().Key }, Set(Invalid, Missing), Set(401)));
        cases.Add(new AttackCase("headers/two-casings", new Dictionary<string, object?> { ["X-API-Key"] = ApiKeyFormat.Generate().Key, ["x-api-key"] = ApiKeyFormat.Generate().Key }, Set(Invalid, Missing), Set<int>()));
        cases.Add(new AttackCase("headers/authorization-lowercase", new Dictionary<string, object?> { ["authorization"] = "Bearer " + RawJwt.Sign(RawJwt.Header(), RawJwt.Claims(), "wrong-secret-wrong-secret-wrong-secret") }, Set(Invalid, Missing), Set(401)));
        foreach (var forged in new[] { VocabHeaders.UserId, VocabHeaders.Role, VocabHeaders.KeyId, VocabHeaders.TokenId, VocabHeaders.Reason, "MT-Fault-Message" })
        {
            cases.Add(new AttackCase($"forged/{forged}-no-credential", new Dictionary<string, object?> { [forged] = "admin" }, Set(Missing), Set(401)));
            cases.Add(new AttackCase($"forged/{forged}-junk-key", new Dictionary<string, object?> { [forged] = "admin", [VocabHeaders.ApiKey] = ApiKeyFormat.Generate().Key }, Set(Invalid), Set(401)));
        }

        // Envelopes and bodies (bus only): valid key or junk key, odd shapes.
        void Body(string name, Dictionary<string, object?> headers, string body, string contentType, params string[] reasons) =>
            cases.Add(new AttackCase("body/" + name, headers, Set(reasons), Set<int>(), body, contentType));
        var validHeaders = new Dictionary<string, object?> { [VocabHeaders.ApiKey] = validKey };
        Body("truncated-json", new() { [VocabHeaders.ApiKey] = validKey }, "{\"requestId\": ", "application/json", BadRequest);
        Body("json-array", validHeaders, "[1,2,3]", "application/json", BadRequest);
        Body("json-null", validHeaders, "null", "application/json", BadRequest, RejectionReasons.InternalError);
        Body("deep-nesting", validHeaders, new string('[', 3000) + new string(']', 3000), "application/json", BadRequest);
        Body("random-bytes", validHeaders, "\u0001\u0002garbage\u00ff", "application/octet-stream", BadRequest);
        Body("xml", validHeaders, "<request><apiKey>" + validKey + "</apiKey></request>", "application/xml", BadRequest);
        Body("negative-max-items", validHeaders, Request(maxItems: -1), "application/json", BadRequest);
        Body("huge-max-items", validHeaders, Request(maxItems: 1_000_000), "application/json", BadRequest);
        Body("request-id-not-guid", validHeaders, Request().Replace("\"requestId\":\"", "\"requestId\":\"x", StringComparison.Ordinal), "application/json", BadRequest);
        Body("user-id-in-body", new() { [VocabHeaders.ApiKey] = ApiKeyFormat.Generate().Key }, Request().Replace("{", "{\"userId\":\"victim\",", StringComparison.Ordinal), "application/json", Invalid);
        Body("key-inside-body", new() { [VocabHeaders.ApiKey] = ApiKeyFormat.Generate().Key }, Request(transcript: "my key " + validKey), "application/json", Invalid);
        var envelopeKey = ApiKeyFormat.Generate().Key;
        Body("envelope-unknown-type", new(), Envelope("urn:message:Vocab.Contracts:Unknown", $"\"X-API-Key\":\"{envelopeKey}\""), "application/vnd.masstransit+json", Skipped);
        Body("envelope-comments", new(), Envelope("urn:message:Vocab.Contracts:GenerateVocabulary", $"/* c */ \"X-API-Key\":\"{ApiKeyFormat.Generate().Key}\","), "application/vnd.masstransit+json", Invalid);
        Body("envelope-duplicate-headers-case", new(), Envelope("urn:message:Vocab.Contracts:GenerateVocabulary", "\"a\":\"b\"").Replace("\"message\":", $"\"Headers\":{{\"X-API-Key\":\"{ApiKeyFormat.Generate().Key}\"}},\"message\":", StringComparison.Ordinal), "application/vnd.masstransit+json", Invalid, Missing, BadRequest);
        Body("envelope-duplicate-key-property", new(), Envelope("urn:message:Vocab.Contracts:GenerateVocabulary", $"\"X-API-Key\":\"{ApiKeyFormat.Generate().Key}\",\"X-API-Key\":\"{ApiKeyFormat.Generate().Key}\""), "application/vnd.masstransit+json", Invalid, Missing, BadRequest);
        Body("envelope-escaped-key", new(), Envelope("urn:message:Vocab.Contracts:GenerateVocabulary", $"\"X-API-Key\":\"\\u0076{ApiKeyFormat.Generate().Key[1..]}\""), "application/vnd.masstransit+json", Invalid);
        Body("envelope-key-array", new(), Envelope("urn:message:Vocab.Contracts:GenerateVocabulary", $"\"X-API-Key\":[\"{ApiKeyFormat.Generate().Key}\"]"), "application/vnd.masstransit+json", Invalid, Missing, BadRequest);
        Body("envelope-no-message", new(), "{\"messageType\":[\"urn:message:Vocab.Contracts:GenerateVocabulary\"],\"headers\":{\"X-API-Key\":\"" + ApiKeyFormat.Generate().Key + "\"}}", "application/vnd.masstransit+json", Invalid, BadRequest, Skipped);
        Body("envelope-broken", new() { [VocabHeaders.ApiKey] = ApiKeyFormat.Generate().Key }, "{\"messageType\":[\"urn:message:Vocab.Contracts:GenerateVocabulary\"],\"headers\":{\"X-API-Key\":\"" + ApiKeyFormat.Generate().Key + "\"", "application/vnd.masstransit+json", BadRequest);
        return cases;
    }

    private static string Request(int maxItems = 3, string transcript = "Hello there.") =>
        $$"""{"requestId":"{{Guid.NewGuid()}}","videoId":"corpus-{{Guid.NewGuid():N}}","transcript":"{{transcript}}","sourceLanguage":"en","targetLanguage":"ko","maxItems":{{maxItems}}}""";

    private static string Envelope(string messageType, string headers) =>
        $$"""{"messageId":"{{Guid.NewGuid()}}","messageType":["{{messageType}}"],"headers":{ {{headers}} },"message":{{Request()}} }""";

    private static string Splice(string a, string b) => string.Join('.', a.Split('.')[..2]) + "." + b.Split('.')[2];

    private static string Flip(string token) => token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];

    private static string RandomJwtShape(int seed)
    {
        var random = new Random(seed);
        string Part(int length) => RawJwt.Encode(new string(Enumerable.Range(0, length).Select(_ => (char)random.Next(32, 127)).ToArray()));
        return "eyJ" + Part(random.Next(4, 60)) + "." + Part(random.Next(0, 200)) + "." + Part(random.Next(0, 80));
    }

    private static IReadOnlySet<T> Set<T>(params T[] values) => new HashSet<T>(values);
}
