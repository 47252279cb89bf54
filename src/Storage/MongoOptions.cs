using System.ComponentModel.DataAnnotations;

namespace Vocab.Storage;

/// <summary>Where MongoDB is: <c>ConnectionStrings:Mongo</c> and <c>Mongo:Database</c>.</summary>
public sealed class MongoOptions
{
    /// <summary>The configuration section of the non-connection-string settings.</summary>
    public const string SectionName = "Mongo";

    /// <summary>From <c>ConnectionStrings:Mongo</c>.</summary>
    [Required(ErrorMessage = "ConnectionStrings:Mongo is required (e.g. mongodb://localhost:27017).")]
    public string ConnectionString { get; set; } = "";

    /// <summary>The database name.</summary>
    [Required(ErrorMessage = "Mongo:Database is required.")]
    public string Database { get; set; } = "vocab";

    /// <summary>A PEM CA certificate trusted alone for MongoDB's TLS certificate (with <c>tls=true</c>); unset: the system store.</summary>
    public string? CaCertificatePath { get; set; }
}
