using System.Globalization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vocab.Contracts;
using Vocab.Failures;
using Vocab.Ops.Rendering;

namespace Vocab.Ops.Pages;

/// <summary>Queue depths and consumers (RabbitMQ management API), and LLM failures per minute from the failure store.</summary>
public sealed class SystemModel(BrokerQueues broker, FailureStore store, ChartRenderer charts, TimeProvider time) : PageModel
{
    public IReadOnlyList<BrokerQueues.Queue> Queues { get; private set; } = [];
    public string? BrokerError { get; private set; }
    public string LlmChart { get; private set; } = "";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        (Queues, BrokerError) = await broker.ListAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var current = new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, DateTimeKind.Utc);
        var minutes = Enumerable.Range(0, 60).Select(i => current.AddMinutes(i - 59)).ToList();
        var counts = await Task.WhenAll(minutes.Select(async m =>
            await store.CountAsync(new FailureFilter(Reason: RejectionReasons.LlmUnavailable, Status: null, From: m, To: m.AddMinutes(1)), cancellationToken) +
            await store.CountAsync(new FailureFilter(Reason: RejectionReasons.LlmInvalidOutput, Status: null, From: m, To: m.AddMinutes(1)), cancellationToken)));
        LlmChart = charts.Bars(minutes.Zip(counts, (m, c) => (m.ToString("HH:mm", CultureInfo.InvariantCulture), c)).ToList(),
            "LLM failures (llm_unavailable, llm_invalid_output) per minute", labelEvery: 10);
    }
}
