using Microsoft.Extensions.Options;
using Vocab.Worker.FairShare;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;

namespace Vocab.Tests.FairShare;

/// <summary>A fair-share scheduler on a fake clock, with the slots a test asks for.</summary>
internal static class TestSchedulers
{
    public static FairShareScheduler Create(TimeProvider time, int slots, int consumerSlots = 32, int reserved = 4, bool enabled = true) => new(
        Options.Create(new LlmOptions { MaxConcurrentCalls = slots }),
        Options.Create(new MessagingOptions { ConcurrentMessageLimit = consumerSlots }),
        Options.Create(new FairShareOptions { Enabled = enabled, ReservedSlots = reserved }),
        time);
}
