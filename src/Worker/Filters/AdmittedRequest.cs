using Vocab.Plans;

namespace Vocab.Worker.Filters;

/// <summary>The consume context's record that the request was admitted under this plan (the consumer settles against it).</summary>
public sealed record AdmittedRequest(Plan Plan);
