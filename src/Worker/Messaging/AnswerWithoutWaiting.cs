using MassTransit;
using Vocab.Contracts;

namespace Vocab.Worker.Messaging;

/// <summary>
/// Whether the message's requester waits for its answer and asked for it without waiting
/// (<see cref="VocabHeaders.AnswerWithoutWaiting"/>): a rate window or another delivery in flight is then answered at once.
/// </summary>
public static class AnswerWithoutWaiting
{
    public static bool IsAsked(ConsumeContext context) =>
        RequesterReply.IsWaiting(context.ReceiveContext, context) &&
        string.Equals(context.Headers.Get<string>(VocabHeaders.AnswerWithoutWaiting), "true", StringComparison.OrdinalIgnoreCase);
}
