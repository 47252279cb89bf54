namespace Vocab.Contracts;

/// <summary>What the LLM call cost, in tokens.</summary>
public sealed record TokenUsage
{
    /// <summary>Tokens sent to the model.</summary>
    public long InputTokens { get; init; }

    /// <summary>Tokens the model produced.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Both together.</summary>
    public long TotalTokens { get; init; }
}
