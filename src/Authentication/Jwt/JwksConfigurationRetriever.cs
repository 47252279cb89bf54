using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Vocab.Authentication.Jwt;

/// <summary>Reads a bare JSON Web Key Set (<c>Jwt:JwksUri</c>) as a configuration holding only keys, for <c>ConfigurationManager</c>.</summary>
public sealed class JwksConfigurationRetriever : IConfigurationRetriever<OpenIdConnectConfiguration>
{
    /// <inheritdoc />
    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
    {
        var document = await retriever.GetDocumentAsync(address, cancel);
        return new OpenIdConnectConfiguration { JsonWebKeySet = new JsonWebKeySet(document) };
    }
}
