using Vocab.Contracts;

namespace Vocab.Worker;

/// <summary>
/// The stored answer's <see cref="VocabularyGenerated"/> event was not published (the broker refused or did not confirm
/// it): retried, and dead-lettered if it never is, so a replay publishes it. The requester has its answer already.
/// </summary>
/// <remarks>
/// A timeout is never the inner exception: MassTransit takes a cancellation anywhere in the chain for the consumer's own
/// cancellation, and retries it.
/// </remarks>
public sealed class ResultEventNotPublishedException(Guid requestId, string why, Exception? inner = null)
    : VocabRequestException(RejectionReasons.EventNotPublished, $"The result event of request {requestId} was not published: {why}", inner);
