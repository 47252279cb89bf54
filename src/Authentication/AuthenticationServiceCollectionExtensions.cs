using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Storage;

namespace Vocab.Authentication;

/// <summary>Registers credential checking with options validated at start.</summary>
public static class AuthenticationServiceCollectionExtensions
{
    /// <summary>Adds <see cref="CredentialValidator"/> and everything behind it (MongoDB included).</summary>
    public static IHostApplicationBuilder AddVocabAuthentication(this IHostApplicationBuilder builder)
    {
        builder.AddVocabStorage();
        var services = builder.Services;
        services.AddOptions<AuthenticationOptions>()
            .BindConfiguration(AuthenticationOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<JwtOptions>()
            .BindConfiguration(JwtOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>());

        services.AddMetrics();
        services.TryAddSingleton<LookupCache>();
        services.TryAddSingleton<AuthenticationMetrics>();
        services.TryAddSingleton<ApiKeyStore>();
        services.TryAddSingleton<ApiKeyUsageRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<ApiKeyUsageRecorder>());
        services.TryAddSingleton<ApiKeyValidator>();
        services.TryAddSingleton<JwtSigningKeys>();
        services.TryAddSingleton<IdentityProviderKeys>();
        services.AddHostedService(sp => sp.GetRequiredService<IdentityProviderKeys>());
        services.TryAddSingleton<TokenBlacklist>();
        services.TryAddSingleton<JwtValidator>();
        services.TryAddSingleton<CredentialValidator>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMongoIndexSetup, AuthenticationIndexes>());
        return builder;
    }
}
