using MongoDB.Bson;
using MongoDB.Driver;

namespace Vocab.Failures;

/// <summary>
/// What the failure store keeps of a copy it cannot store whole: over MongoDB's 16 MB document limit (the body is kept
/// twice, and a hostile publisher's can be megabytes), or with a header name MongoDB refuses (one with a NUL character).
/// Its metadata only, each value cut to <see cref="MaxValueLength"/>, unverified and so never replayed. Left on the queue
/// instead, it would come back at its head forever and block every failure behind it.
/// </summary>
public static class UnstorableFailure
{
    public const int MaxValueLength = 1024;

    /// <summary>True when <paramref name="error"/> says the document itself cannot be stored (not that the store is away).</summary>
    public static bool Is(Exception error) =>
        // The driver refuses before sending: an element name it cannot write, a document over the server's maximum size.
        error is BsonSerializationException || error is FormatException && error.Message.Contains("MaxDocumentSize", StringComparison.Ordinal) ||
        // The server refuses it as too large.
        error is MongoWriteException { WriteError.Code: BsonObjectTooLarge } || error is MongoCommandException { Code: BsonObjectTooLarge };

    private const int BsonObjectTooLarge = 10334;

    /// <summary>The metadata of <paramref name="failure"/>, under the same id (so its redelivery is found again).</summary>
    public static FailureDocument MetadataOf(FailureDocument failure, Exception error) => new()
    {
        Id = failure.Id,
        DeadLetterId = Cut(failure.DeadLetterId),
        Queue = failure.Queue,
        Reason = Cut(failure.Reason) ?? "unknown",
        Group = Cut(failure.Group) ?? "unknown",
        UserId = Cut(failure.UserId),
        Role = Cut(failure.Role),
        KeyId = Cut(failure.KeyId),
        TokenId = Cut(failure.TokenId),
        VideoId = Cut(failure.VideoId),
        MessageId = Cut(failure.MessageId),
        FailedAt = failure.FailedAt,
        FirstFailedAt = failure.FirstFailedAt,
        Retries = failure.Retries,
        IngestedAt = failure.IngestedAt,
        RetainUntil = failure.RetainUntil,
        ExpireAt = failure.ExpireAt,
        FaultType = Cut(failure.FaultType),
        FaultMessage = Cut(failure.FaultMessage),
        Verified = false,
        Unverified = $"not stored whole ({error.GetType().Name}): its metadata only, never replayed",
        BodyRemoved = "unstorable",
    };

    private static string? Cut(string? value) => value is { Length: > MaxValueLength } ? value[..MaxValueLength] : value;
}
