using Microsoft.Extensions.Options;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.FairShare;

/// <summary>Says at start when the consumer slots leave no room for newcomers beside the LLM calls (fair share then degrades).</summary>
public sealed partial class FairShareCapacityCheck(IOptions<MessagingOptions> messaging, IOptions<LlmOptions> llm, IOptions<FairShareOptions> fairShare,
    ILogger<FairShareCapacityCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var (consumer, reserved, calls) = (messaging.Value.ConcurrentMessageLimit, fairShare.Value.ReservedSlots, llm.Value.MaxConcurrentCalls);
        if (fairShare.Value.Enabled && consumer - reserved < calls)
            LogNoReserve(logger, consumer, reserved, calls);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker:ConcurrentMessageLimit {Consumer} leaves no room for FairShare:ReservedSlots {Reserved} beside Llm:MaxConcurrentCalls {Calls}: during a burst another user's first message waits for a consumer slot. Raise Worker:ConcurrentMessageLimit (see docs/fair-share.md#how-it-works)")]
    private static partial void LogNoReserve(ILogger logger, int consumer, int reserved, int calls);
}
