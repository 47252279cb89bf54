using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Vocab.Authentication.Jwt;

/// <summary>
/// The verification keys: those configured, and the identity provider's current ones (see
/// <see cref="IdentityProviderKeys"/>). Each is bound to one algorithm so an HS256 token can never be checked with an RSA
/// key's bytes.
/// </summary>
public sealed class JwtSigningKeys
{
    private readonly IReadOnlyList<(string Algorithm, SecurityKey Key)> _configured;
    private volatile IReadOnlyList<(string Algorithm, SecurityKey Key)> _provided = [];

    /// <summary>Builds the configured keys.</summary>
    public JwtSigningKeys(IOptions<JwtOptions> options)
    {
        _configured = options.Value.Keys.Select(k => (k.Algorithm, CreateKey(k))).ToList();
    }

    /// <summary>The <c>kid</c>s of the provider's keys now in use.</summary>
    public IReadOnlyList<string> ProvidedKeyIds => _provided.Select(k => k.Key.KeyId).ToList();

    /// <summary>
    /// The keys a token with this <c>kid</c> and <c>alg</c> may be verified with. With several keys known a token must
    /// name its key: trying each in turn would let a token choose the weakest.
    /// </summary>
    public IEnumerable<SecurityKey> Resolve(string? keyId, string algorithm)
    {
        var all = _configured.Concat(_provided).ToList();
        if (string.IsNullOrEmpty(keyId) && all.Count > 1)
            return [];
        return all.Where(k => k.Algorithm == algorithm && (string.IsNullOrEmpty(keyId) || k.Key.KeyId == keyId)).Select(k => k.Key).ToList();
    }

    /// <summary>Whether any key, configured or provided, has this <c>kid</c>.</summary>
    public bool Knows(string keyId) =>
        _configured.Any(k => k.Key.KeyId == keyId) || _provided.Any(k => k.Key.KeyId == keyId);

    /// <summary>Replaces the provider's keys with a fresh set (RS256 only).</summary>
    public void ReplaceProvidedKeys(IEnumerable<SecurityKey> keys) =>
        _provided = keys.Select(k => (JwtAlgorithms.RS256, k)).ToList();

    private static SecurityKey CreateKey(JwtKeyOptions key)
    {
        if (key.Algorithm == JwtAlgorithms.HS256)
            return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key.Secret!)) { KeyId = key.Id };
        var rsa = RSA.Create();
        rsa.ImportFromPem(key.PublicKeyPem);
        return new RsaSecurityKey(rsa) { KeyId = key.Id };
    }
}
