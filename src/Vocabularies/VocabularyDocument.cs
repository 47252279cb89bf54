using MongoDB.Bson.Serialization.Attributes;
using Vocab.Contracts;

namespace Vocab.Vocabularies;

/// <summary>A stored vocabulary list; its id is the request id, so a redelivered request finds it.</summary>
public sealed class VocabularyDocument
{
    // Element names, for the lookups every request makes (a lambda is translated on every call).
    internal const string ReuseKeyField = "reuseKey", ReusedField = "reused";

    [BsonId]
    public string RequestId { get; set; } = "";

    [BsonElement("userId")]
    public string UserId { get; set; } = "";

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
