using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Error-pipe filter: stamps the reason (and the caller's user id, key id or jti when known) on the dead-lettered message
/// for ops, and tells the requester (if nobody did yet) with <see cref="GenerateVocabularyRejected"/> instead of letting it time out.
/// </summary>
public sealed partial class DeadLetterReasonFilter(ILogger<DeadLetterReasonFilter> logger) : IFilter<ExceptionReceiveContext>
{
    /// <inheritdoc />
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        var failure = FindFailure(context.Exception);
        var reason = failure?.Reason ?? (IsSerializationFailure(context.Exception) ? RejectionReasons.InvalidRequest : RejectionReasons.InternalError);
        context.TryGetPayload(out AuthenticatedCaller? caller);
        var userId = failure?.UserId ?? caller?.UserId;
        var keyId = failure?.KeyId ?? caller?.KeyId;
        var tokenId = failure?.TokenId ?? caller?.TokenId;

        context.ExceptionHeaders.Set(VocabHeaders.Reason, reason);
        if (userId is not null)
            context.ExceptionHeaders.Set(VocabHeaders.UserId, userId);
        if (keyId is not null)
            context.ExceptionHeaders.Set(VocabHeaders.KeyId, keyId);
        if (tokenId is not null)
            context.ExceptionHeaders.Set(VocabHeaders.TokenId, tokenId);
        if (caller is not null)
            context.ExceptionHeaders.Set(VocabHeaders.Role, caller.Role);

        context.TryGetPayload(out ConsumeContext? consumeContext);
        var request = TryGetRequest(consumeContext);
        // The caller's mistakes are warnings; the service's own failures are errors.
        var level = RejectionReasons.CredentialReasons.Contains(reason) || reason == RejectionReasons.InvalidRequest ? LogLevel.Warning : LogLevel.Error;
        LogDeadLettered(logger, level, context.GetMessageId(), reason, userId, keyId, tokenId, context.Exception.Message);
        try
        {
            await RejectionReply.SendAsync(context, consumeContext, request, reason);
        }
        catch (Exception e)
        {
            // The message must still reach the error queue.
            LogReplyFailed(logger, e, context.GetMessageId());
        }

        await next.Send(context);
    }

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateFilterScope("vocab-dead-letter-reason");

    private static VocabRequestException? FindFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is VocabRequestException failure)
                return failure;
            if (e is AggregateException aggregate)
                return aggregate.InnerExceptions.Select(FindFailure).FirstOrDefault(f => f is not null);
        }
        return null;
    }

    private static bool IsSerializationFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Runtime.Serialization.SerializationException or System.Text.Json.JsonException)
                return true;
        }
        return false;
    }

    private static GenerateVocabulary? TryGetRequest(ConsumeContext? context)
    {
        try
        {
            return context is not null && context.TryGetMessage<GenerateVocabulary>(out var message) ? message.Message : null;
        }
        catch (Exception e) when (IsSerializationFailure(e))
        {
            return null;
        }
    }

    [LoggerMessage(Message = "Dead-lettering message {MessageId}: {Reason}; user {UserId}, key {KeyId}, jti {TokenId}: {Cause}")]
    private static partial void LogDeadLettered(ILogger logger, LogLevel level, Guid? messageId, string reason, string? userId, string? keyId, string? tokenId, string cause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the requester of message {MessageId} that it was rejected")]
    private static partial void LogReplyFailed(ILogger logger, Exception exception, Guid? messageId);
}
