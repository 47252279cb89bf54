using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Vocab.Authentication.Jwt;

/// <summary>The configured verification keys, each bound to one algorithm so an HS256 token can never be checked with an RSA key's bytes.</summary>
public sealed class JwtSigningKeys
{
    private readonly IReadOnlyList<(string Algorithm, SecurityKey Key)> _keys;

    /// <summary>Builds the keys from configuration.</summary>
    public JwtSigningKeys(IOptions<JwtOptions> options)
    {
        _keys = options.Value.Keys.Select(k => (k.Algorithm, CreateKey(k))).ToList();
    }

    /// <summary>
    /// The keys a token with this <c>kid</c> and <c>alg</c> may be verified with. With several keys configured a token
    /// must name its key: trying each in turn would let a token choose the weakest.
    /// </summary>
    public IEnumerable<SecurityKey> Resolve(string? keyId, string algorithm)
    {
        if (string.IsNullOrEmpty(keyId) && _keys.Count > 1)
            return [];
        return _keys.Where(k => k.Algorithm == algorithm && (string.IsNullOrEmpty(keyId) || k.Key.KeyId == keyId)).Select(k => k.Key);
    }

    private static SecurityKey CreateKey(JwtKeyOptions key)
    {
        if (key.Algorithm == JwtAlgorithms.HS256)
            return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key.Secret!)) { KeyId = key.Id };
        var rsa = RSA.Create();
        rsa.ImportFromPem(key.PublicKeyPem);
        return new RsaSecurityKey(rsa) { KeyId = key.Id };
    }
}
