namespace Vocab.Plans;

/// <summary>A named plan and its limits.</summary>
public sealed record Plan(string Name, PlanOptions Limits);
