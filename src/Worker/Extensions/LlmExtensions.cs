using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Vocab.Worker.FairShare;
using OpenAI;
using Vocab.Worker.Llm;

namespace Vocab.Worker.Extensions;

/// <summary>Registers the chat client for an OpenAI-compatible endpoint and the vocabulary generator.</summary>
public static class LlmExtensions
{
    /// <summary>Adds <see cref="VocabularyGenerator"/> with validated <see cref="LlmOptions"/>.</summary>
    public static IHostApplicationBuilder AddVocabularyGeneration(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<LlmOptions>()
            .BindConfiguration(LlmOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddChatClient(services =>
        {
            var options = services.GetRequiredService<IOptions<LlmOptions>>().Value;
            var clientOptions = new OpenAIClientOptions
            {
                Endpoint = new Uri(options.Endpoint),
                NetworkTimeout = options.Timeout,
                // MassTransit's message retry owns retrying, with backoff and a dead-letter reason at the end.
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            };
            return new OpenAIClient(new ApiKeyCredential(options.ApiKey), clientOptions).GetChatClient(options.Model).AsIChatClient();
        });
        builder.Services.AddOptions<FairShareOptions>()
            .BindConfiguration(FairShareOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<FairShareScheduler>();
        builder.Services.AddSingleton<FairShareMetrics>();
        builder.Services.AddHostedService<FairShareCapacityCheck>();
        builder.Services.AddSingleton<LlmCallGate>();
        builder.Services.AddSingleton<VocabularyGenerator>();
        builder.Services.AddSingleton<VocabularySource>();
        builder.Services.AddHttpClient(LlmEndpointProbe.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(5));
        builder.Services.AddHostedService<LlmEndpointProbe>();
        return builder;
    }
}
