using System.Reflection;
using System.Runtime.ExceptionServices;
using MassTransit;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// A view of a failed message for the error transport with its credentials removed: the body's envelope headers and the
/// AMQP headers it copies onto the <c>_error</c> message. Everything else (ids, fault headers, payloads) is the original's.
/// </summary>
/// <remarks>
/// The error transport reads the body and the AMQP properties straight from the receive context, so only a view that
/// answers those two differently keeps the secret out of the dead-letter queue; a proxy avoids re-implementing the
/// rest of a large interface.
/// </remarks>
public class ScrubbedExceptionReceiveContext : DispatchProxy
{
    private ExceptionReceiveContext _inner = null!;
    private MessageBody _body = null!;
    private RabbitMqBasicConsumeContext? _delivery;

    /// <summary>Wraps the context.</summary>
    public static ExceptionReceiveContext Wrap(ExceptionReceiveContext inner)
    {
        var proxy = Create<ExceptionReceiveContext, ScrubbedExceptionReceiveContext>();
        var self = (ScrubbedExceptionReceiveContext)(object)proxy;
        self._inner = inner;
        self._body = new BytesMessageBody(CredentialScrubber.WithoutCredentials(inner.Body.GetBytes()));
        self._delivery = inner.TryGetPayload(out RabbitMqBasicConsumeContext? delivery) ? new ScrubbedDelivery(delivery) : null;
        return proxy;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == "get_Body")
            return _body;
        if (targetMethod.Name == nameof(PipeContext.TryGetPayload) && args is { Length: 1 } &&
            targetMethod.GetGenericArguments()[0] == typeof(RabbitMqBasicConsumeContext) && _delivery is not null)
        {
            args[0] = _delivery;
            return true;
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
