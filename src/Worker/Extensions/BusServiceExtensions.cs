using Microsoft.Extensions.DependencyInjection.Extensions;
using Vocab.Messaging;
using Vocab.Worker.DeadLetter;
using Vocab.Worker.Filters;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Extensions;

/// <summary>
/// The filters and observers the worker's bus resolves from the container. Consume filters (outcome, authentication, admission)
/// are resolved per message by MassTransit's <c>UseConsumeFilter(typeof(X&lt;&gt;), context)</c>; the receive-pipe
/// filters below hold no per-message state and are singletons.
/// </summary>
public static class BusServiceExtensions
{
    public static IServiceCollection AddVocabBusServices(this IServiceCollection services)
    {
        services.AddSingleton<CredentialHeaderRemovalObserver>();
        services.AddSingleton<DeadLetterQueues>();
        // The error pipe (see ReceiveEndpointExtensions.UseScrubbedDeadLetters).
        services.AddSingleton<ScrubbedErrorTransportFilter>();
        // The skipped pipe, and both pipes of the quarantine endpoint.
        services.AddSingleton<ScrubbedSkippedTransportFilter>();
        services.AddSingleton(typeof(BrokerDeadLetterFilingFilter<>));
        // The parkers tell the sweeper which delay queues they use.
        services.TryAddSingleton<BrokerConnection>();
        services.AddSingleton<DelayQueueSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<DelayQueueSweeper>());
        services.AddSingleton<DelayParking>();
        services.AddSingleton<ResponseExchanges>();
        services.AddSingleton<DirectReplies>();
        return services;
    }
}
