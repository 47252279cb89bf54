using System.Text;

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

    // What a table entry costs besides its name and value: the name's length byte, the value's type and length.
    private const int EntryOverhead = 6;

    /// <summary>About what one header takes in an AMQP table (an upper bound for text; nested tables as their text).</summary>
    public static int SizeOf(string name, object? value) => EntryOverhead + Encoding.UTF8.GetByteCount(name) + value switch
    {
        null => 0,
        string text => Encoding.UTF8.GetByteCount(text),
        byte[] bytes => bytes.Length,
        ReadOnlyMemory<byte> memory => memory.Length,
        _ => Encoding.UTF8.GetByteCount(HeaderText.Of(value) ?? ""),
    };

    /// <summary>About what <paramref name="headers"/> take in an AMQP table.</summary>
    public static long SizeOf(IEnumerable<KeyValuePair<string, object?>>? headers)
    {
        long size = 0;
        if (headers is not null)
            foreach (var (name, value) in headers)
                size += SizeOf(name, value);
        return size;
    }
}
