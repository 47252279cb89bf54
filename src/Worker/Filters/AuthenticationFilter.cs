using MassTransit;
using Vocab.Authentication;

namespace Vocab.Worker.Filters;

/// <summary>
/// Authenticates every consumed message before its consumer runs. On success the caller becomes a payload of the consume
/// context; on failure it throws <see cref="CredentialRejectedException"/> (never retried), which the outcome filter answers
/// and dead-letters.
/// </summary>
public sealed partial class AuthenticationFilter<T>(CredentialValidator validator, ILogger<AuthenticationFilter<T>> logger)
    : IFilter<ConsumeContext<T>>
    where T : class
{
    /// <inheritdoc />
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        var result = await validator.ValidateAsync(MessageCredentialReader.Read(context), context.CancellationToken);
        if (result.Caller is not { } caller)
        {
            LogRejected(logger, context.MessageId, typeof(T).Name, result.FailureReason!, result.FailureDetail!, result.Method,
                result.UserId, result.KeyId, result.TokenId);
            throw new CredentialRejectedException(result);
        }

        context.AddOrUpdatePayload(() => caller, _ => caller);
        // The error pipe sees the receive context, not this one: it reads the caller from there for the dead-letter headers.
        context.ReceiveContext.AddOrUpdatePayload(() => caller, _ => caller);
        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-authentication");

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Rejected {MessageType} {MessageId}: {Reason} ({Detail}); method {Method}, user {UserId}, key {KeyId}, jti {TokenId}")]
    private static partial void LogRejected(ILogger logger, Guid? messageId, string messageType, string reason, string detail,
        string method, string? userId, string? keyId, string? tokenId);
}
