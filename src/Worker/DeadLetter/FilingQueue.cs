namespace Vocab.Worker.DeadLetter;

/// <summary>A queue the worker files messages on, with the arguments it is declared with (its type, for a quorum deployment).</summary>
public sealed record FilingQueue(string Name, IReadOnlyDictionary<string, object> Arguments);
