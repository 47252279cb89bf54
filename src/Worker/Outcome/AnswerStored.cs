namespace Vocab.Worker.Outcome;

/// <summary>
/// On the receive context once the request has its stored answer: whatever fails after that is the delivery of the answer
/// (the reply, the event), never a reason to tell anyone the request failed. Kept across retries of the delivery, so the
/// requester is answered once however often the event is published again.
/// </summary>
public sealed class AnswerStored
{
    /// <summary>True once the requester (a response address or <c>reply_to</c>) has its answer.</summary>
    public bool RequesterAnswered { get; set; }
}
