using System.ComponentModel.DataAnnotations;

namespace Vocab.Worker.FairShare;

/// <summary><c>FairShare:*</c>: how a worker shares its LLM calls among the users whose messages it holds.</summary>
public sealed class FairShareOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "FairShare";

    /// <summary>Off: first in, first out (one user's burst delays everyone behind it). For comparison only.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Consumer slots (<c>Worker:ConcurrentMessageLimit</c>) kept for users who hold no message yet, so the first message
    /// of a user behind a burst is taken at once. Kept only while the rest still covers <c>Llm:MaxConcurrentCalls</c>.
    /// </summary>
    [Range(1, 1_000, ErrorMessage = "FairShare:ReservedSlots must be between 1 and 1000.")]
    public int ReservedSlots { get; set; } = 4;
}
