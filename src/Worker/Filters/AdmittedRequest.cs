using Vocab.Plans;

namespace Vocab.Worker.Filters;

/// <summary>
/// The consume context's record that the request was admitted under this plan (the consumer settles against it);
/// <paramref name="NothingStored"/> when this delivery claimed the requestId first, so no answer can be stored under it.
/// </summary>
public sealed record AdmittedRequest(Plan Plan, bool NothingStored = false);
