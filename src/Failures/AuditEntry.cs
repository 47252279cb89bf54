using MongoDB.Bson;
using MongoDB.Bson.Serialization.Attributes;

namespace Vocab.Failures;

/// <summary>One ops action in the <c>audit</c> collection: who did what, when, to how many, with which outcome.</summary>
[BsonIgnoreExtraElements]
public sealed class AuditEntry
{
    [BsonId] public ObjectId Id { get; set; } = ObjectId.GenerateNewId();
    [BsonElement("at")] public DateTime At { get; set; }

    /// <summary>The operator: the console's signed-in user id (and key id or jti), or <c>vocabctl:&lt;os user&gt;</c>.</summary>
    [BsonElement("by")] public string By { get; set; } = "";

    /// <summary>replay, archive, purge, key.create, key.revoke, key.rotate, tokens.revoke-user, sign-in.</summary>
    [BsonElement("action")] public string Action { get; set; } = "";

    [BsonElement("count")] public long Count { get; set; }

    /// <summary>What was selected (ids, a group, a filter) and what came of it; never a secret.</summary>
    [BsonElement("detail")] public string Detail { get; set; } = "";
}
