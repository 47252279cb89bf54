using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Filters;

/// <summary>
/// Refuses a message whose body is over <c>Worker:MaxMessageBytes</c> before anything else reads it: an
/// <see cref="InvalidRequestException"/>, which the outcome filter answers and files metadata only.
/// </summary>
public sealed class MessageSizeFilter<T>(IOptions<MessagingOptions> options) : IFilter<ConsumeContext<T>>
    where T : class
{
    /// <inheritdoc />
    public Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        var length = context.ReceiveContext.Body.Length ?? 0;
        if (length > options.Value.MaxMessageBytes)
            throw new InvalidRequestException($"The message body has {length} bytes, over Worker:MaxMessageBytes ({options.Value.MaxMessageBytes}).");
        return next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-message-size");
}
