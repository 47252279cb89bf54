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
    /// Messages a user may hold beyond the LLM calls it is entitled to, waiting for a call slot: enough that a slot never
    /// idles while the user has work, few enough that the consumer slots stay open to other users.
    /// </summary>
    [Range(1, 100, ErrorMessage = "FairShare:Headroom must be between 1 and 100.")]
    public int Headroom { get; set; } = 2;
}
