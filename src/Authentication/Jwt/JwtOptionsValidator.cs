using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Vocab.Authentication.Jwt;

/// <summary>Fails start-up, naming the setting, when the JWT configuration cannot verify tokens safely.</summary>
public sealed class JwtOptionsValidator : IValidateOptions<JwtOptions>
{
    private const int MinimumSecretBytes = 32;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, JwtOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Issuer))
            failures.Add("Jwt:Issuer is required.");
        if (string.IsNullOrWhiteSpace(options.Audience))
            failures.Add("Jwt:Audience is required.");
        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
            failures.Add("Jwt:ClockSkew must be between 0 and 5 minutes.");
        if (options.MaxLifetime < TimeSpan.FromMinutes(1) || options.MaxLifetime > TimeSpan.FromDays(30))
            failures.Add("Jwt:MaxLifetime must be between 1 minute and 30 days.");
        if (options.Keys.Count == 0 && !options.UsesProvider)
            failures.Add("Jwt:Keys needs at least one key (Jwt:Keys:0:Id, Jwt:Keys:0:Algorithm, Jwt:Keys:0:Secret or Jwt:Keys:0:PublicKeyPem), or set Jwt:Authority or Jwt:JwksUri.");
        if (!string.IsNullOrWhiteSpace(options.Authority) && !string.IsNullOrWhiteSpace(options.JwksUri))
            failures.Add("Jwt:Authority and Jwt:JwksUri are exclusive: set one.");
        failures.AddRange(ValidateAddress("Jwt:Authority", options.Authority, options.RequireHttpsMetadata));
        failures.AddRange(ValidateAddress("Jwt:JwksUri", options.JwksUri, options.RequireHttpsMetadata));
        if (options.KeyRefreshInterval < TimeSpan.FromSeconds(1) || options.KeyRefreshInterval > TimeSpan.FromDays(1))
            failures.Add("Jwt:KeyRefreshInterval must be between 1 second and 1 day.");
        if (options.UnknownKeyRefreshInterval < TimeSpan.FromSeconds(1) || options.UnknownKeyRefreshInterval > TimeSpan.FromHours(1))
            failures.Add("Jwt:UnknownKeyRefreshInterval must be between 1 second and 1 hour.");
        if (options.UserIdClaim != options.UserIdClaim.Trim())
            failures.Add("Jwt:UserIdClaim must not have surrounding spaces.");
        if (string.IsNullOrWhiteSpace(options.RoleClaim) || options.RoleClaim != options.RoleClaim.Trim())
            failures.Add("Jwt:RoleClaim must name a claim (default role).");

        for (var i = 0; i < options.Keys.Count; i++)
            failures.AddRange(ValidateKey($"Jwt:Keys:{i}", options.Keys[i]));

        var duplicate = options.Keys.GroupBy(k => k.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            failures.Add($"Jwt:Keys has two keys with Id '{duplicate.Key}'.");

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static IEnumerable<string> ValidateAddress(string setting, string? value, bool requireHttps)
    {
        if (string.IsNullOrWhiteSpace(value))
            yield break;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            yield return $"{setting} must be an absolute http(s) address.";
        else if (requireHttps && uri.Scheme != Uri.UriSchemeHttps)
            yield return $"{setting} must be HTTPS (Jwt:RequireHttpsMetadata=false only for a local test provider).";
    }

    private static IEnumerable<string> ValidateKey(string path, JwtKeyOptions key)
    {
        if (string.IsNullOrWhiteSpace(key.Id))
            yield return $"{path}:Id is required.";
        switch (key.Algorithm)
        {
            case JwtAlgorithms.HS256:
                if (string.IsNullOrEmpty(key.Secret))
                    yield return $"{path}:Secret is required for an HS256 key.";
                else if (Encoding.UTF8.GetByteCount(key.Secret) < MinimumSecretBytes)
                    yield return $"{path}:Secret must be at least {MinimumSecretBytes} bytes.";
                break;
            case JwtAlgorithms.RS256:
                if (string.IsNullOrWhiteSpace(key.PublicKeyPem) || !IsRsaPublicKey(key.PublicKeyPem))
                    yield return $"{path}:PublicKeyPem must be an RSA public key in PEM form for an RS256 key.";
                break;
            default:
                yield return $"{path}:Algorithm must be HS256 or RS256.";
                break;
        }
    }

    private static bool IsRsaPublicKey(string pem)
    {
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
