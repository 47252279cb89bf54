using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Failures;

/// <summary>
/// One dead-lettered copy in the <c>failures</c> collection. Its id is the dead-letter id the worker assigned and signed;
/// a copy whose signature does not verify gets an id of its own (<c>unverified-</c> and a digest of the copy), so it can
/// neither take a real failure's place nor be mistaken for one. Re-ingesting a copy finds its id and changes nothing.
/// </summary>
[BsonIgnoreExtraElements]
public sealed class FailureDocument
{
    [BsonId] public string Id { get; set; } = "";

    /// <summary>The worker's <c>Vocab-Dead-Letter-Id</c>; as presented (not trusted) when <see cref="Verified"/> is false.</summary>
    [BsonElement("deadLetterId")] public string? DeadLetterId { get; set; }

    /// <summary>
    /// <c>error</c> (replayable failures), <c>refused</c> (credential and permission refusals, metadata only) or <c>skipped</c>
    /// (a message type no consumer handles; never replayed).
    /// </summary>
    [BsonElement("queue")] public string Queue { get; set; } = FailureQueues.Error;

    [BsonElement("reason")] public string Reason { get; set; } = "unknown";

    /// <summary>What the overview groups by: the reason, and for <c>internal_error</c> the exception type too.</summary>
    [BsonElement("group")] public string Group { get; set; } = "unknown";

    [BsonElement("userId")] public string? UserId { get; set; }
    [BsonElement("role")] public string? Role { get; set; }
    [BsonElement("keyId")] public string? KeyId { get; set; }
    [BsonElement("tokenId")] public string? TokenId { get; set; }
    [BsonElement("videoId")] public string? VideoId { get; set; }
    [BsonElement("messageId")] public string? MessageId { get; set; }

    /// <summary>When the worker filed this copy (<c>Vocab-Dead-Lettered-At</c>), else when it was ingested.</summary>
    [BsonElement("failedAt")] public DateTime FailedAt
    {
        get => _failedAt;
        set
        {
            _failedAt = value;
            Hour = new DateTime(value.Year, value.Month, value.Day, value.Hour, 0, 0, DateTimeKind.Utc);
        }
    }

    private DateTime _failedAt;

    /// <summary><see cref="FailedAt"/> to the hour, so the per-hour chart is one grouping on an index.</summary>
    [BsonElement("hour")] public DateTime Hour { get; set; }

    /// <summary>The earliest failure of the same message of the same user that the store holds.</summary>
    [BsonElement("firstFailedAt")] public DateTime FirstFailedAt { get; set; }

    /// <summary>How many copies of the same message of the same user the store held when this one arrived, this one included.</summary>
    [BsonElement("attempts")] public int Attempts { get; set; } = 1;

    /// <summary>MassTransit's retries before this copy was filed (<c>MT-Fault-RetryCount</c>).</summary>
    [BsonElement("retries")] public int? Retries { get; set; }

    [BsonElement("ingestedAt")] public DateTime IngestedAt { get; set; }

    /// <summary>The TTL index removes the document at this time: a day after <see cref="RetainUntil"/>, when the sweeper has not.</summary>
    [BsonElement("expireAt")] public DateTime ExpireAt { get; set; }

    [BsonElement("faultType")] public string? FaultType { get; set; }
    [BsonElement("faultMessage")] public string? FaultMessage { get; set; }

    [BsonElement("verified")] public bool Verified { get; set; }

    /// <summary>Why the signature does not verify; null when it does.</summary>
    [BsonElement("unverified")] public string? Unverified { get; set; }

    /// <summary>Headers as text, for people; the worker scrubbed credentials before filing, and the ingestor drops any left.</summary>
    [BsonElement("headers")] public Dictionary<string, string> Headers { get; set; } = [];

    [BsonElement("body")] public string Body { get; set; } = "";

    [BsonElement("bodyRemoved")] public string? BodyRemoved { get; set; }

    /// <summary>The copy as delivered, to verify and replay.</summary>
    [BsonElement("copy")] public StoredCopy Copy { get; set; } = new();

    /// <summary>One of <see cref="FailureStatus"/>.</summary>
    [BsonElement("status")] public string Status { get; set; } = FailureStatus.Open;

    [BsonElement("replays")] public List<ReplayRecord> Replays { get; set; } = [];

    /// <summary>Raised with every change of <see cref="Status"/>, in the same write: the overview's counters follow revisions.</summary>
    [BsonElement("rev")] public int Rev { get; set; } = 1;

    /// <summary>The revision the overview's counters include (0: none yet); <see cref="CountedStatus"/> is its status.</summary>
    [BsonElement("countedRev")] public int CountedRev { get; set; }

    /// <summary>The status whose counters include this failure; null while it is counted nowhere.</summary>
    [BsonElement("countedStatus")] public string? CountedStatus { get; set; }

    /// <summary>The revision being brought into the counters now (written before the first step, so a successor finishes that one).</summary>
    [BsonElement("countingRev"), BsonIgnoreIfNull] public int? CountingRev { get; set; }

    /// <summary>The status of <see cref="CountingRev"/>; null when it is counted nowhere (purging).</summary>
    [BsonElement("countingStatus"), BsonIgnoreIfNull] public string? CountingStatus { get; set; }

    /// <summary>True while the counters lag <see cref="Rev"/> (set with the insert or the status change, cleared once they follow).</summary>
    [BsonElement("pending"), BsonIgnoreIfNull] public bool? Pending { get; set; }

    /// <summary>Who brings the counters up to date now, and until when: one at a time, so a step is never applied twice.</summary>
    [BsonElement("lease"), BsonIgnoreIfNull] public string? Lease { get; set; }

    [BsonElement("leaseUntil"), BsonIgnoreIfNull] public DateTime? LeaseUntil { get; set; }

    /// <summary>
    /// When retention ends: the store's sweeper purges the failure then, counters included. <see cref="ExpireAt"/> (the
    /// TTL index) is a day later, a backstop for a store nobody sweeps.
    /// </summary>
    [BsonElement("retainUntil")] public DateTime RetainUntil { get; set; }
}
