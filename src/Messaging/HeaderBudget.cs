using System.Collections;
using System.Text;
using RabbitMQ.Client;

namespace Vocab.Messaging;

/// <summary>
/// How much of a publisher's own headers the worker carries into anything it writes (dead-letter copies, parked copies,
/// replies, events). An AMQP header table must fit in one frame (RabbitMQ's <c>frame_max</c>, 128 KiB by default): a
/// publisher that sent headers just under it would otherwise make every copy the worker adds to larger than a frame, and
/// the broker closes the worker's whole connection on it, again at every redelivery.
/// </summary>
public static class HeaderBudget
{
    /// <summary>The most bytes of a publisher's headers kept on what the worker writes; far above any honest message.</summary>
    public const int PublisherBytes = 16 * 1024;

    /// <summary>
    /// The most bytes of headers a message may have for the worker to send it on whole (parked until its turn, delayed
    /// for its rate): such a copy carries every header, the credential included, plus the worker's own.
    /// </summary>
    public const int MessageBytes = 64 * 1024;

    /// <summary>
    /// What one header takes in an AMQP field table, as RabbitMQ.Client writes it: its name's length and bytes, the value's
    /// type byte and encoding (long strings and binary values with a 4-byte length, tables and arrays with their entries).
    /// </summary>
    public static long SizeOf(string name, object? value) => 1 + Encoding.UTF8.GetByteCount(name) + ValueSize(value);

    private static long ValueSize(object? value) => value switch
    {
        null => 1,
        bool or byte or sbyte => 2,
        short or ushort => 3,
        int or uint or float => 5,
        decimal => 6,
        long or ulong or double or AmqpTimestamp => 9,
        string text => 5 + Encoding.UTF8.GetByteCount(text),
        byte[] bytes => 5 + bytes.Length,
        ReadOnlyMemory<byte> memory => 5 + memory.Length,
        BinaryTableValue binary => 5 + binary.Bytes.Length,
        IDictionary table => 5 + TableEntriesSize(table),
        IEnumerable list => 5 + list.Cast<object?>().Sum(ValueSize),
        // Anything else (a Guid, a date on a MassTransit send) MassTransit writes as its text.
        _ => 5 + Encoding.UTF8.GetByteCount(HeaderText.Of(value) ?? ""),
    };

    private static long TableEntriesSize(IDictionary table)
    {
        long size = 0;
        foreach (DictionaryEntry entry in table)
            size += 1 + Encoding.UTF8.GetByteCount(entry.Key.ToString() ?? "") + ValueSize(entry.Value);
        return size;
    }

    /// <summary>What <paramref name="headers"/> take in an AMQP field table (its entries).</summary>
    public static long SizeOf(IEnumerable<KeyValuePair<string, object?>>? headers)
    {
        long size = 0;
        if (headers is not null)
            foreach (var (name, value) in headers)
                size += SizeOf(name, value);
        return size;
    }
}
