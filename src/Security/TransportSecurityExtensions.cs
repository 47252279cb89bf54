using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Vocab.Security;

/// <summary>Registers transport security for a process.</summary>
public static class TransportSecurityExtensions
{
    /// <summary>
    /// Adds <see cref="TransportSecurityOptions"/>, refusing at start (when
    /// <c>Security:RequireTls</c> is on) any of <paramref name="checkedSettings"/> that is plaintext.
    /// </summary>
    public static IHostApplicationBuilder AddTransportSecurity(this IHostApplicationBuilder builder, params string[] checkedSettings)
    {
        builder.Services.AddOptions<TransportSecurityOptions>().BindConfiguration(TransportSecurityOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TransportSecurityOptions>>(sp =>
            new PlaintextRefusal(sp.GetRequiredService<IConfiguration>(), checkedSettings));
        return builder;
    }
}
