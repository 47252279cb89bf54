using MongoDB.Bson.Serialization.Attributes;
using Vocab.Contracts;

namespace Vocab.Vocabularies;

/// <summary>One stored vocabulary item.</summary>
public sealed class VocabularyItemDocument
{
    [BsonElement("word")]
    public string Word { get; set; } = "";

    [BsonElement("meaning")]
    public string Meaning { get; set; } = "";

    [BsonElement("partOfSpeech")]
    public string PartOfSpeech { get; set; } = "";

    [BsonElement("example")]
    public string Example { get; set; } = "";

    /// <summary>Builds the stored form of an item.</summary>
    public static VocabularyItemDocument From(VocabularyItem item) => new()
    {
        Word = item.Word, Meaning = item.Meaning, PartOfSpeech = item.PartOfSpeech, Example = item.Example,
    };

    /// <summary>The contract form of this item.</summary>
    public VocabularyItem ToItem() => new() { Word = Word, Meaning = Meaning, PartOfSpeech = PartOfSpeech, Example = Example };
}
