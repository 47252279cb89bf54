using MassTransit;

namespace Vocab.Benchmarks.Bridge;

/// <summary>
/// The floor of any MassTransit request over this broker: a consumer that answers at once, on its own bus, with the
/// same transport settings. Measured beside the bridge's round trip so the report can say what is transport and what is ours.
/// </summary>
public static class BareRoundTrip
{
    public sealed record Ping(Guid Id);

    public sealed record Pong(Guid Id);

    private sealed class PingConsumer : IConsumer<Ping>
    {
        public Task Consume(ConsumeContext<Ping> context) => context.RespondAsync(new Pong(context.Message.Id));
    }

    public static async Task<double[]> MeasureAsync(Uri broker, int samples)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(broker);
            rabbit.ReceiveEndpoint("bench-ping", e => e.Consumer<PingConsumer>());
        });
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        try
        {
            var client = bus.CreateRequestClient<Ping>(new Uri("queue:bench-ping"));
            var results = new double[samples];
            for (var i = -20; i < samples; i++)
            {
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                await client.GetResponse<Pong>(new Ping(Guid.NewGuid()), x => x.UseExecute(c => c.Durable = false));
                if (i >= 0)
                    results[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            return results;
        }
        finally
        {
            await bus.StopAsync();
        }
    }
}
