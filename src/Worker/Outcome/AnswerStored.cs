namespace Vocab.Worker.Outcome;

/// <summary>
/// On the receive context once the request has its stored answer: whatever fails after that is the delivery of the answer
/// (the reply, the event), never a reason to tell anyone the request failed. Kept across retries of the delivery, so the
/// requester is answered, and the event published, once each however often the other is tried again.
/// </summary>
public sealed class AnswerStored
{
    /// <summary>True once the requester (a response address or <c>reply_to</c>) has its answer.</summary>
    public bool RequesterAnswered { get; set; }

    /// <summary>True once the <c>VocabularyGenerated</c> event is published and confirmed.</summary>
    public bool EventPublished { get; set; }
}
