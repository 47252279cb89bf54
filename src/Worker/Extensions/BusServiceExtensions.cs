using Microsoft.Extensions.DependencyInjection.Extensions;
using Vocab.Messaging;
using Vocab.Worker.DeadLetter;
using Vocab.Worker.FairShare;
using Vocab.Worker.Filters;
using Vocab.Worker.Messaging;
using Vocab.Worker.Outcome;

namespace Vocab.Worker.Extensions;

/// <summary>
/// The filters and observers the worker's bus resolves from the container. Consume filters (outcome, size, authentication,
/// fair share, admission) are resolved per message by MassTransit's <c>UseConsumeFilter(typeof(X&lt;&gt;), context)</c>;
/// like the receive-pipe filters they hold no per-message state (every dependency is a singleton) and are singletons.
/// </summary>
public static class BusServiceExtensions
{
    public static IServiceCollection AddVocabBusServices(this IServiceCollection services)
    {
        services.AddSingleton<CredentialHeaderRemovalObserver>();
        // Registered, so each message's resolution is a lookup: an unregistered filter is built by reflection
        // (ActivatorUtilities) for every message, about 2 % of the worker's CPU.
        services.AddSingleton(typeof(RequestOutcomeFilter<>));
        services.AddSingleton(typeof(MessageSizeFilter<>));
        services.AddSingleton(typeof(AuthenticationFilter<>));
        services.AddSingleton(typeof(FairShareFilter<>));
        services.AddSingleton(typeof(RequestAdmissionFilter<>));
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
