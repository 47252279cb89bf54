using MassTransit;
using Vocab.Contracts;

namespace Vocab.Worker.Messaging;

/// <summary>
/// MassTransit copies a consumed message's headers onto everything sent or published while consuming it (responses,
/// events, faults). This observer removes the credential headers from all of them just before they leave.
/// </summary>
public sealed class CredentialHeaderRemovalObserver : ISendObserver, IPublishObserver
{
    /// <inheritdoc />
    public Task PreSend<T>(SendContext<T> context) where T : class => Remove(context);

    /// <inheritdoc />
    public Task PrePublish<T>(PublishContext<T> context) where T : class => Remove(context);

    /// <inheritdoc />
    public Task PostSend<T>(SendContext<T> context) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task SendFault<T>(SendContext<T> context, Exception exception) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task PostPublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;

    private static Task Remove(SendContext context)
    {
        foreach (var header in VocabHeaders.CredentialHeaders)
            context.Headers.Set(header, null);
        return Task.CompletedTask;
    }
}
