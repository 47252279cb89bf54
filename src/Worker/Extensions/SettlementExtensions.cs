using Vocab.Worker.Settlement;

namespace Vocab.Worker.Extensions;

/// <summary>Registers the sending of deferred settlements and the orphan sweep.</summary>
public static class SettlementExtensions
{
    /// <summary>Call before the bus is added: the flusher then stops after the bus, and sends what its last messages owed.</summary>
    public static IHostApplicationBuilder AddDeferredSettlement(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SettlementOptions>().BindConfiguration(SettlementOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<DeferredSettlementFlusher>();
        builder.Services.AddSingleton<OrphanedSettlementSweeper>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<OrphanedSettlementSweeper>());
        return builder;
    }
}
