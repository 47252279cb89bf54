namespace Vocab.Worker.FairShare;

/// <summary>Whose LLM capacity a message spends, and that user's plan weight (<c>Plans:&lt;name&gt;:Weight</c>).</summary>
public readonly record struct ShareKey(string UserId, int Weight);
