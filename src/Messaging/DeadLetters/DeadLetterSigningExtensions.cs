using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Vocab.Messaging.DeadLetters;

/// <summary>Registers <see cref="DeadLetterSigner"/> with its key, validated at start.</summary>
public static class DeadLetterSigningExtensions
{
    public static IHostApplicationBuilder AddDeadLetterSigning(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeadLetterSigningOptions>().BindConfiguration(DeadLetterSigningOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DeadLetterSigningOptions>, DeadLetterSigningOptionsValidator>();
        builder.Services.AddSingleton<DeadLetterSigner>();
        return builder;
    }
}
