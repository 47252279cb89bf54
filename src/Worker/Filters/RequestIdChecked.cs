namespace Vocab.Worker.Filters;

/// <summary>
/// Left on the receive context once the admission's lookup found nothing under the requestId that belongs to another
/// caller or body: a refusal from here on may be published (naming the caller) for it; one before it could name someone else's request.
/// </summary>
public sealed class RequestIdChecked;
