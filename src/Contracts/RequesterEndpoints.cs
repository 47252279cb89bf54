namespace Vocab.Contracts;

/// <summary>
/// The bus-instance endpoint of a MassTransit requester (the HTTP bridge's, or a backend's request client): the worker
/// answers a MassTransit response address only when it names one of these, as a temporary exchange the way a bus
/// declares its own. Its broker account may declare and write only these names (rabbitmq/definitions.json), and answering
/// anywhere else would have MassTransit declare an exchange the broker refuses, which closes the channel.
/// </summary>
public static class RequesterEndpoints
{
    /// <summary>The start of every requester's bus-instance queue and exchange name.</summary>
    public const string Prefix = "vocab-bridge-bus-";

    /// <summary>
    /// A new bus-instance endpoint name, for <c>OverrideDefaultBusEndpointQueueName</c> on a bus that sends requests
    /// with a request client.
    /// </summary>
    public static string NewName() => Prefix + Guid.NewGuid().ToString("N");

    /// <summary>True when <paramref name="name"/> is a requester endpoint's: the prefix, then letters, digits, '-' and '_'.</summary>
    public static bool IsRequesterEndpoint(string name) =>
        name.Length > Prefix.Length && name.Length <= 255 && name.StartsWith(Prefix, StringComparison.Ordinal)
        && name.AsSpan(Prefix.Length).IndexOfAnyExcept(NameCharacters) < 0;

    private static readonly System.Buffers.SearchValues<char> NameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
}
