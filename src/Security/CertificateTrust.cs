using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Vocab.Security;

/// <summary>
/// Decides whether a server's certificate is trusted: by the system store, or, when a CA file is configured, by that CA
/// alone. The host name must match either way.
/// </summary>
public static class CertificateTrust
{
    /// <summary>
    /// A validation callback. <paramref name="onRejected"/> hears why a certificate was refused, in words that name
    /// <paramref name="setting"/>, so a wrong CA is a clear log line rather than a bare handshake failure.
    /// </summary>
    public static RemoteCertificateValidationCallback Validator(string? caCertificatePath, string setting, Action<string>? onRejected = null)
    {
        var authority = string.IsNullOrWhiteSpace(caCertificatePath) ? null : X509CertificateLoader.LoadCertificateFromFile(caCertificatePath);
        return (_, certificate, _, errors) =>
        {
            var why = Check(certificate, errors, authority, caCertificatePath, setting);
            if (why is not null)
                onRejected?.Invoke(why);
            return why is null;
        };
    }

    private static string? Check(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2? authority, string? path, string setting)
    {
        if (certificate is null)
            return "the server presented no certificate";
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return "the server certificate does not name the host in the connection address";
        if (authority is null)
            return errors == SslPolicyErrors.None ? null : $"the server certificate is not trusted by the system store (set {setting} to the CA that issued it)";

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var server = new X509Certificate2(certificate);
        return chain.Build(server)
            ? null
            : $"the server certificate is not issued by the CA in {setting} ({path}): {string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()))}";
    }

    /// <summary>A client certificate from a PKCS#12 file, or a PEM certificate with its PEM key; null when none is configured.</summary>
    public static X509Certificate2? LoadClientCertificate(string? path, string? keyPath, string? password)
    {
        if (string.IsNullOrWhiteSpace(path))
            return null;
        return string.IsNullOrWhiteSpace(keyPath)
            ? X509CertificateLoader.LoadPkcs12FromFile(path, password)
            : X509Certificate2.CreateFromPemFile(path, keyPath);
    }
}
