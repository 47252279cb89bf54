using Microsoft.Extensions.DependencyInjection.Extensions;
using Vocab.Messaging.DeadLetters;

namespace Vocab.Worker.DeadLetter;

/// <summary>Registers what writes dead-lettered copies: the signing key (validated at start), the writer and its metric.</summary>
public static class DeadLetterExtensions
{
    public static IHostApplicationBuilder AddVocabDeadLetters(this IHostApplicationBuilder builder)
    {
        builder.AddDeadLetterSigning();
        builder.Services.AddOptions<DeadLetterOptions>().BindConfiguration(DeadLetterOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DeadLetterMetrics>();
        builder.Services.AddSingleton<ScrubbedCopyWriter>();
        return builder;
    }
}
