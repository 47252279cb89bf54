namespace Vocab.TestSupport;

/// <summary>Reads the <c>command</c> and <c>collection</c> tags of a <c>Vocab.Storage</c> measurement, for listeners in tests and benchmarks.</summary>
public static class MongoCommandTags
{
    /// <summary>The command's name (null if untagged) and its key as <c>MongoCommandMetrics.Totals</c> spells it ("command collection").</summary>
    public static (string? Command, string Key) Of(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? command = null, collection = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "command")
                command = tag.Value as string;
            else if (tag.Key == "collection")
                collection = tag.Value as string;
        }
        return (command, $"{command} {collection}".TrimEnd());
    }
}
