using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vocab.HttpBridge.Authentication;

namespace Vocab.Benchmarks.Bridge;

/// <summary>The bridge's no-authentication baseline: every request is the same fixed caller, checking nothing.</summary>
public sealed class FixedCallerHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "bench-fixed-caller";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var identity = new ClaimsIdentity(
            [new Claim(VocabAuthenticationDefaults.UserIdClaim, "bench-user"), new Claim(VocabAuthenticationDefaults.RoleClaim, "user")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
