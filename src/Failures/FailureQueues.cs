namespace Vocab.Failures;

/// <summary>The worker's dead-letter queues the ingestor reads, by the suffix on the worker's queue name.</summary>
public static class FailureQueues
{
    /// <summary>Failures that may be replayed: <c>&lt;queue&gt;_error</c>.</summary>
    public const string Error = "error";

    /// <summary>Credential and permission refusals, metadata only: <c>&lt;queue&gt;_refused</c>.</summary>
    public const string Refused = "refused";

    /// <summary>
    /// Messages of a type no consumer handles, as a worker before 2026-12-01 filed them (now refusals on <c>_refused</c>):
    /// <c>&lt;queue&gt;_skipped</c>, scrubbed and signed like the others but never
    /// authenticated (no caller is proven), so stored to be seen and never replayed.
    /// </summary>
    public const string Skipped = "skipped";

    /// <summary>All three, in the order they are read.</summary>
    public static readonly IReadOnlyList<string> All = [Error, Refused, Skipped];

    /// <summary>The broker queue of <paramref name="kind"/> for the worker's queue <paramref name="queueName"/>.</summary>
    public static string QueueName(string queueName, string kind) => $"{queueName}_{kind}";
}
