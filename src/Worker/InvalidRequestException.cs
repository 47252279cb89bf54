using Vocab.Contracts;

namespace Vocab.Worker;

/// <summary>The message body is malformed or out of range; never retried.</summary>
public sealed class InvalidRequestException(string message) : VocabRequestException(RejectionReasons.InvalidRequest, message)
{
}
