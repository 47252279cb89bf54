using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Vocab.Messaging;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Answers sent to a RabbitMQ direct reply-to name (<c>amq.rabbitmq.reply-to.…</c>), each on a channel of its own on the
/// worker's second connection. The name is the publisher's to write: one the broker never gave out (or one it cannot
/// decode) makes the broker close the channel it is published on, and on the consumer's channel that took every delivery
/// in flight with it, the message coming back to do it again. Here it costs one throwaway channel, and is not answered.
/// </summary>
public sealed partial class DirectReplies(BrokerConnection broker, ILogger<DirectReplies> logger)
{
    /// <summary>Publishes the answer, confirmed; false when the broker refused the name (or the channel could not be had).</summary>
    public async Task<bool> PublishAsync(string replyTo, BasicProperties properties, byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await broker.GetAsync("vocab-worker-replies", cancellationToken);
            await using var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            await channel.BasicPublishAsync("", replyTo, false, properties, body, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or PublishException)
        {
            LogRefused(logger, PublisherText.ForLog(replyTo), e.GetType().Name);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Not answered: the broker refused the direct reply-to name {ReplyTo} ({Failure})")]
    private static partial void LogRefused(ILogger logger, string replyTo, string failure);
}
