using Vocab.Contracts;

namespace Vocab.Worker;

/// <summary>The requestId is bound to another request (another body or caller); nothing was reserved or called; never retried.</summary>
public sealed class RequestIdReusedException(string message) : VocabRequestException(RejectionReasons.RequestIdReused, message)
{
}
