using System.Diagnostics.Metrics;

namespace Vocab.Plans;

/// <summary>Requests and tokens by plan (meter <c>Vocab.Usage</c>: <c>vocab.usage.requests</c>, <c>vocab.usage.tokens</c>).</summary>
public sealed class UsageMetrics
{
    public const string MeterName = "Vocab.Usage";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _tokens;

    public UsageMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("vocab.usage.requests", description: "Requests served, by plan");
        _tokens = meter.CreateCounter<long>("vocab.usage.tokens", description: "LLM tokens charged, by plan");
    }

    /// <summary>Counts one served request and its tokens (0 when reused).</summary>
    public void Served(string plan, long tokens)
    {
        var tag = new KeyValuePair<string, object?>("plan", plan);
        _requests.Add(1, tag);
        _tokens.Add(tokens, tag);
    }
}
