namespace Vocab.Plans;

/// <summary>One plan, <c>Plans:&lt;name&gt;:*</c>. An unset limit means no limit.</summary>
public sealed class PlanOptions
{
    /// <summary>Requests per user per rate window (<c>RateLimits:Window</c>, a minute by default).</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>Requests per user per calendar month (UTC).</summary>
    public long? MonthlyRequests { get; set; }

    /// <summary>LLM tokens per user per calendar month (UTC).</summary>
    public long? MonthlyTokens { get; set; }

    /// <summary>The largest <c>maxItems</c> a request may ask for.</summary>
    public int MaxItems { get; set; } = 100;

    /// <summary>
    /// This plan's share of LLM capacity against other backlogged users: a user of weight 3 is served three times the
    /// tokens of a user of weight 1 while both wait (fair share), and anyone may use what nobody else is waiting for.
    /// </summary>
    public int Weight { get; set; } = 1;

    /// <summary>The model this plan's requests use; unset: <c>Llm:Model</c>.</summary>
    public string? Model { get; set; }
}
