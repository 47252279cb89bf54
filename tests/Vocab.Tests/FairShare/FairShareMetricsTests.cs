using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Vocab.Worker.FairShare;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;

namespace Vocab.Tests.FairShare;

/// <summary><c>vocab.fair_share.turn_wait</c>: every wait for a turn is recorded, granted or given up, on the scheduler's clock.</summary>
public sealed class FairShareMetricsTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(double Milliseconds, string? Plan, string? Outcome)> _waits = new();

    public FairShareMetricsTests()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "vocab.fair_share.turn_wait")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? plan = null, outcome = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "plan")
                    plan = tag.Value as string;
                else if (tag.Key == "outcome")
                    outcome = tag.Value as string;
            }
            _waits.Enqueue((value, plan, outcome));
        });
        _listener.Start();
    }

    [Fact]
    public async Task TurnWait_IsRecordedWhenGranted_AndWhenGivenUp()
    {
        var scheduler = new FairShareScheduler(Options.Create(new LlmOptions { MaxConcurrentCalls = 1 }),
            Options.Create(new MessagingOptions { ConcurrentMessageLimit = 32 }), Options.Create(new FairShareOptions()), _time);
        var metrics = new FairShareMetrics(_services.GetRequiredService<IMeterFactory>(), scheduler, _time);
        var user = new ShareKey("waiting-user", 1);
        var running = await metrics.TimeTurnAsync("free", scheduler.EnterAsync(new ShareKey("running-user", 1), 300, default));

        using var giveUp = new CancellationTokenSource();
        var abandoned = metrics.TimeTurnAsync("free", scheduler.EnterAsync(user, 300, giveUp.Token));
        var granted = metrics.TimeTurnAsync("premium", scheduler.EnterAsync(user, 300, default));
        _time.Advance(TimeSpan.FromSeconds(3));
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        _time.Advance(TimeSpan.FromSeconds(2));
        running.Dispose();
        using var turn = await granted;

        Assert.Equal([(0, "free", "granted"), (3_000, "free", "gave_up"), (5_000, "premium", "granted")], _waits.ToArray());
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }
}
