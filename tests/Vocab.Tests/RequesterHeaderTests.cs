using System.Text;
using MassTransit;
using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;

namespace Vocab.Tests;

/// <summary>
/// The headers a requester exchanges with the worker (<see cref="VocabHeaders.AnswerWithoutWaiting"/> in, the rate
/// window out) stay between the two: the requester's answer carries the worker's own rate window, whatever the
/// requester sent, and the <see cref="VocabularyGenerated"/> event other services read carries neither.
/// </summary>
public sealed class RequesterHeaderTests(RequesterHeaderTests.RatedWorker fixture) : IClassFixture<RequesterHeaderTests.RatedWorker>
{
    private const string Events = "Vocab.Contracts:VocabularyGenerated";

    /// <summary>Users on a plan with a rate, so the worker has a window to report.</summary>
    public sealed class RatedWorker : WorkerFixture
    {
        protected override IDictionary<string, string?> ExtraConfiguration => new Dictionary<string, string?>
        {
            ["Plans:RoleMap:user"] = "rated",
            ["Plans:rated:RequestsPerMinute"] = "1000",
        };
    }

    [Fact]
    public async Task AnswerCarriesTheWorkersRateWindow_TheEventCarriesNoRequesterHeader()
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"headers-{Guid.NewGuid():N}");
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(Events, ExchangeType.Fanout, durable: true);
        var events = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(events, Events, "");
        var request = WorkerFixture.NewRequest();

        var response = await fixture.RequestAsync(request, c =>
        {
            c.UseApiKey(key);
            c.Headers.Set(VocabHeaders.AnswerWithoutWaiting, "true");
            c.Headers.Set(VocabHeaders.RateLimit, "\"plan\";r=999999;t=1");
            c.Headers.Set(VocabHeaders.RateLimitPolicy, "\"plan\";q=999999;w=1");
        });

        Assert.True(response.Is(out Response<VocabularyGenerated>? generated));
        Assert.Equal("\"plan\";q=1000;w=60", generated!.Headers.Get<string>(VocabHeaders.RateLimitPolicy));
        Assert.StartsWith("\"plan\";r=999;t=", generated.Headers.Get<string>(VocabHeaders.RateLimit), StringComparison.Ordinal);
        Assert.Null(generated.Headers.Get<string>(VocabHeaders.AnswerWithoutWaiting));

        BasicGetResult? published = null;
        for (var i = 0; i < 100 && published is null; i++)
        {
            published = await channel.BasicGetAsync(events, autoAck: true);
            if (published is null)
                await Task.Delay(100);
        }
        Assert.NotNull(published);
        Assert.Contains(request.RequestId.ToString(), Encoding.UTF8.GetString(published.Body.Span), StringComparison.OrdinalIgnoreCase);
        var body = Encoding.UTF8.GetString(published.Body.Span);
        var transportHeaders = published.BasicProperties.Headers ?? new Dictionary<string, object?>();
        foreach (var header in new[] { VocabHeaders.AnswerWithoutWaiting, VocabHeaders.RateLimit, VocabHeaders.RateLimitPolicy })
        {
            Assert.DoesNotContain(header, transportHeaders.Keys);
            Assert.DoesNotContain(header, body, StringComparison.OrdinalIgnoreCase);
        }
    }
}
