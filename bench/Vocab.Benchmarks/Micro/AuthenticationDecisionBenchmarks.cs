using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using MongoDB.Driver;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Storage;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.Micro;

/// <summary>
/// The authentication decision, on a warm cache (production default 1 s) and on a miss (cache off: MongoDB round trips),
/// next to its baselines in the same run: the bare <see cref="JsonWebTokenHandler"/> validation and one bare MongoDB find.
/// </summary>
[MemoryDiagnoser]
public class AuthenticationDecisionBenchmarks
{
    private readonly TestTokens _tokens = new();
    private AuthenticationHost _warm = null!;
    private AuthenticationHost _cold = null!;
    private PresentedCredential _apiKey = null!;
    private PresentedCredential _coldApiKey = null!;
    private PresentedCredential _hs256 = null!;
    private PresentedCredential _rs256 = null!;
    private string _hs256Token = "";
    private JsonWebTokenHandler _handler = null!;
    private TokenValidationParameters _parameters = null!;
    private IMongoCollection<ApiKeyDocument> _keys = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var database = $"vocab_bench_{Guid.NewGuid():N}";
        _warm = await AuthenticationHost.StartAsync(_tokens, TimeSpan.FromSeconds(1), database);
        _cold = await AuthenticationHost.StartAsync(_tokens, TimeSpan.Zero, database);
        _apiKey = PresentedCredential.FromHeaders(_warm.ApiKey, null);
        _coldApiKey = PresentedCredential.FromHeaders(_cold.ApiKey, null);
        _hs256Token = _tokens.Hs256("bench-user", expires: DateTime.UtcNow.AddHours(2));
        _hs256 = PresentedCredential.FromHeaders(null, $"Bearer {_hs256Token}");
        _rs256 = PresentedCredential.FromHeaders(null, $"Bearer {_tokens.Rs256("bench-user")}");
        _keys = _cold.Host.Services.GetRequiredService<VocabDatabase>().Collection<ApiKeyDocument>(ApiKeyStore.CollectionName);

        // The bare handler with the very parameters the validator builds (keys resolved by kid and algorithm).
        var keys = _warm.Host.Services.GetRequiredService<JwtSigningKeys>();
        var jwt = _warm.Host.Services.GetRequiredService<IOptions<JwtOptions>>().Value;
        _handler = new JsonWebTokenHandler();
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = jwt.Issuer, ValidAudience = jwt.Audience, ClockSkew = jwt.ClockSkew, RequireExpirationTime = true,
            ValidAlgorithms = JwtAlgorithms.Allowed, TryAllIssuerSigningKeys = false,
            IssuerSigningKeyResolver = (_, token, kid, _) => token is JsonWebToken parsed ? keys.Resolve(kid, parsed.Alg) : [],
        };
        await ApiKey_WarmCache();
        await Hs256Jwt_WithBlacklist_WarmCache();
        await Rs256Jwt_WithBlacklist_WarmCache();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await MongoCleanup.DropDatabaseAsync(_warm.Host.Services.GetRequiredService<IMongoClient>(), _warm.DatabaseName);
        await _warm.DisposeAsync();
        await _cold.DisposeAsync();
    }

    [Benchmark]
    public ValueTask<AuthenticationResult> ApiKey_WarmCache() => _warm.Validator.ValidateAsync(_apiKey, CancellationToken.None);

    [Benchmark]
    public ValueTask<AuthenticationResult> ApiKey_CacheMiss() => _cold.Validator.ValidateAsync(_coldApiKey, CancellationToken.None);

    [Benchmark]
    public ValueTask<AuthenticationResult> Hs256Jwt_WithBlacklist_WarmCache() => _warm.Validator.ValidateAsync(_hs256, CancellationToken.None);

    [Benchmark]
    public ValueTask<AuthenticationResult> Hs256Jwt_WithBlacklist_CacheMiss() => _cold.Validator.ValidateAsync(_hs256, CancellationToken.None);

    [Benchmark]
    public ValueTask<AuthenticationResult> Rs256Jwt_WithBlacklist_WarmCache() => _warm.Validator.ValidateAsync(_rs256, CancellationToken.None);

    [Benchmark]
    public Task<TokenValidationResult> Baseline_JsonWebTokenHandler_Hs256() => _handler.ValidateTokenAsync(_hs256Token, _parameters);

    [Benchmark]
    public Task<ApiKeyDocument> Baseline_MongoFindByHash() => _keys.Find(k => k.Hash == _cold.ApiKeyHash).FirstOrDefaultAsync();
}
