using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Worker.Extensions;
using Vocab.Worker.Outcome;

namespace Vocab.Tests;

/// <summary>
/// The worker's consume filters are resolved per message by <c>UseConsumeFilter(typeof(X&lt;&gt;), context)</c>: one not
/// registered is built by reflection for every message (about 2 % of the worker's CPU), silently. Each must be registered.
/// </summary>
public sealed class BusServiceRegistrationTests
{
    [Fact]
    public void EveryConsumeFilterOfTheWorker_IsRegisteredAsAnOpenGenericSingleton()
    {
        var filters = typeof(RequestOutcomeFilter<>).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: true } && t.GetInterfaces().Any(IsConsumeFilter))
            .ToList();
        var registered = new ServiceCollection().AddVocabBusServices()
            .Where(d => d.Lifetime == ServiceLifetime.Singleton).Select(d => d.ServiceType).ToHashSet();

        Assert.Contains(typeof(RequestOutcomeFilter<>), filters);
        Assert.True(filters.Count >= 5, $"found only {filters.Count} consume filters: {string.Join(", ", filters.Select(f => f.Name))}");
        Assert.All(filters, filter => Assert.True(registered.Contains(filter), $"{filter.Name} is not registered in AddVocabBusServices"));
    }

    private static bool IsConsumeFilter(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IFilter<>)
        && type.GetGenericArguments()[0] is { IsGenericType: true } context && context.GetGenericTypeDefinition() == typeof(ConsumeContext<>);
}
