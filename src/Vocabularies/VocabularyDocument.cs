using MongoDB.Bson.Serialization.Attributes;
using Vocab.Contracts;

namespace Vocab.Vocabularies;

/// <summary>
/// A stored vocabulary list; its id is the request id, so a redelivered request finds it. Or, with
/// <see cref="FailedInMonth"/>, the record of a request that failed after it was counted (no list): a resend finds the
/// request it may be (its <see cref="Fingerprint"/>) and that it was counted, and the record goes when it is served or expires.
/// </summary>
public sealed class VocabularyDocument
{
    // Element names, for the lookups every request makes (a lambda is translated on every call).
    internal const string ReuseKeyField = "reuseKey", ReusedField = "reused", FailedInMonthField = "failedIn", ExpiresAtField = "expiresAt",
        FingerprintField = "fingerprint", UserIdField = "userId";

    [BsonId]
    public string RequestId { get; set; } = "";

    [BsonElement(UserIdField)]
    public string UserId { get; set; } = "";

    /// <summary>What was asked under the requestId (<c>RequestFingerprint</c>): the same id with another body is refused. Null on lists stored before it was kept.</summary>
    [BsonElement(FingerprintField)]
    [BsonIgnoreIfNull]
    public string? Fingerprint { get; set; }

    /// <summary>Set on a failure record only: the month (<c>yyyy-MM</c>) the failed request was counted in.</summary>
    [BsonElement(FailedInMonthField)]
    [BsonIgnoreIfNull]
    public string? FailedInMonth { get; set; }

    /// <summary>Set on a failure record only: removed by a TTL index then (<c>Plans:LedgerRetention</c>).</summary>
    [BsonElement(ExpiresAtField)]
    [BsonIgnoreIfNull]
    public DateTime? ExpiresAt { get; set; }

    /// <summary>True for a stored list; false for a failure record.</summary>
    [BsonIgnore]
    public bool IsAnswer => FailedInMonth is null;

    [BsonElement("videoId")]
    public string VideoId { get; set; } = "";

    [BsonElement("sourceLanguage")]
    public string SourceLanguage { get; set; } = "";

    [BsonElement("targetLanguage")]
    public string TargetLanguage { get; set; } = "";

    [BsonElement("items")]
    public List<VocabularyItemDocument> Items { get; set; } = [];

    [BsonElement("model")]
    public string Model { get; set; } = "";

    [BsonElement("inputTokens")]
    public long InputTokens { get; set; }

    [BsonElement("outputTokens")]
    public long OutputTokens { get; set; }

    [BsonElement("createdAt")]
    public DateTime CreatedAt { get; set; }

    /// <summary>The question this list answers (transcript hash, languages, maxItems, model, prompt version), for reuse.</summary>
    [BsonElement(ReuseKeyField)]
    [BsonIgnoreIfNull]
    public string? ReuseKey { get; set; }

    [BsonElement("promptVersion")]
    [BsonIgnoreIfNull]
    public string? PromptVersion { get; set; }

    /// <summary>True when the list was copied from an earlier answer to the same question: no LLM call, 0 tokens.</summary>
    [BsonElement(ReusedField)]
    public bool Reused { get; set; }

    /// <summary>The settlement its request owed when it was stored (<see cref="StoredCharge"/>); null on answers stored before it was kept.</summary>
    [BsonElement("charge")]
    [BsonIgnoreIfNull]
    public StoredCharge? Charge { get; set; }

    /// <summary>The event and reply form of this document.</summary>
    public VocabularyGenerated ToGenerated() => new()
    {
        RequestId = Guid.Parse(RequestId),
        VideoId = VideoId,
        UserId = UserId,
        SourceLanguage = SourceLanguage,
        TargetLanguage = TargetLanguage,
        Items = Items.Select(i => i.ToItem()).ToList(),
        Model = Model,
        Usage = new TokenUsage { InputTokens = InputTokens, OutputTokens = OutputTokens, TotalTokens = InputTokens + OutputTokens },
        GeneratedAt = new DateTimeOffset(DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc)),
    };
}
