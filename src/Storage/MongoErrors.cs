using MongoDB.Driver;

namespace Vocab.Storage;

/// <summary>Recognises MongoDB errors by code, whichever exception type the server's answer was wrapped in.</summary>
public static class MongoErrors
{
    private const int DuplicateKeyCode = 11000;

    /// <summary>True when the exception reports a duplicate key (a write error or a command error, servers differ).</summary>
    public static bool IsDuplicateKey(Exception exception) => exception switch
    {
        MongoWriteException write => write.WriteError?.Code == DuplicateKeyCode,
        MongoBulkWriteException bulk => bulk.WriteErrors.Any(e => e.Code == DuplicateKeyCode),
        MongoCommandException command => command.Code == DuplicateKeyCode,
        _ => false,
    };
}
