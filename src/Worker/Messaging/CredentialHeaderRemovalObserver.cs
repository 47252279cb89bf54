using MassTransit;
using Vocab.Contracts;
using Vocab.Messaging;

namespace Vocab.Worker.Messaging;

/// <summary>
/// MassTransit copies a consumed message's headers onto everything sent or published while consuming it (responses,
/// events, faults). This observer removes the credential headers, and any inbound <c>Vocab-*</c> header, from all of them just before they leave;
/// and a requester's own <see cref="VocabHeaders.AnswerWithoutWaiting"/> and rate window from what others read.
/// </summary>
public sealed class CredentialHeaderRemovalObserver : ISendObserver, IPublishObserver
{
    /// <inheritdoc />
    public Task PreSend<T>(SendContext<T> context) where T : class => Remove(context, publishing: false);

    /// <inheritdoc />
    public Task PrePublish<T>(PublishContext<T> context) where T : class => Remove(context, publishing: true);

    /// <inheritdoc />
    public Task PostSend<T>(SendContext<T> context) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task SendFault<T>(SendContext<T> context, Exception exception) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task PostPublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;

    private static Task Remove(SendContext context, bool publishing)
    {
        // A requester's wish to be answered without waiting concerns its own request only; the rate window goes to the
        // requester alone (the worker sets it on its answer), never on an event every subscriber reads.
        context.Headers.Set(VocabHeaders.AnswerWithoutWaiting, null);
        if (publishing)
        {
            context.Headers.Set(VocabHeaders.RateLimitPolicy, null);
            context.Headers.Set(VocabHeaders.RateLimit, null);
        }
        foreach (var header in VocabHeaders.CredentialHeaders)
            context.Headers.Set(header, null);
        // Inbound Vocab-* headers are the publisher's word, not the worker's: they must not travel on as if proven.
        // Runs on every send and publish: a list is made only when there is something to remove (usually nothing).
        List<string>? remove = null;
        foreach (var (name, _) in context.Headers.GetAll())
        {
            if (TrustedHeaders.IsCredential(name) || name.StartsWith(VocabHeaders.Prefix, StringComparison.OrdinalIgnoreCase))
                (remove ??= []).Add(name);
        }
        if (remove is not null)
        {
            foreach (var name in remove)
                context.Headers.Set(name, null);
        }
        KeepWithinBudget(context);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Drops the headers copied from the consumed message once they take more than <see cref="HeaderBudget.PublisherBytes"/>:
    /// an answer must stay writable in one frame whatever the publisher sent. MassTransit's own stay, and so does the
    /// worker's rate window on an answer when it is the worker's size (the worker's values are a few dozen bytes).
    /// </summary>
    private static void KeepWithinBudget(SendContext context)
    {
        long size = 0;
        foreach (var (name, value) in context.Headers.GetAll())
        {
            if (IsCopied(name))
                size += HeaderBudget.SizeOf(name, value);
        }
        if (size <= HeaderBudget.PublisherBytes)
            return;
        var dropped = context.Headers.GetAll()
            .Where(h => IsCopied(h.Key) && !(IsRateWindow(h.Key) && HeaderBudget.SizeOf(h.Key, h.Value) <= RateWindowBytes))
            .Select(h => h.Key).ToList();
        foreach (var name in dropped)
            context.Headers.Set(name, null);
    }

    private const int RateWindowBytes = 256;

    private static bool IsRateWindow(string name) =>
        name.Equals(VocabHeaders.RateLimit, StringComparison.OrdinalIgnoreCase) || name.Equals(VocabHeaders.RateLimitPolicy, StringComparison.OrdinalIgnoreCase);

    // MassTransit's own headers are "MT-" in that case (it copies a differently cased "mt-…" as a publisher's). Every
    // other header counts, the rate window's included: a publisher may have sent those names too.
    private static bool IsCopied(string name) => !name.StartsWith("MT-", StringComparison.Ordinal);
}
