using MongoDB.Driver;

namespace Vocab.TestSupport;

/// <summary>Drops a throw-away database; the jongodb stand-in has no dropDatabase, where unique names keep runs apart.</summary>
public static class MongoCleanup
{
    public static async Task DropDatabaseAsync(IMongoClient client, string databaseName)
    {
        try
        {
            await client.DropDatabaseAsync(databaseName);
        }
        catch (MongoCommandException)
        {
            // The stand-in answers "no such command"; real MongoDB drops it.
        }
    }
}
