using System.Collections;
using System.Globalization;
using System.Text;
using RabbitMQ.Client;

namespace Vocab.Messaging;

/// <summary>
/// A message header's value as text, the same way for every reader: AMQP long strings arrive as bytes (binary values,
/// type <c>x</c>, as <see cref="BinaryTableValue"/>), timestamps as
/// <see cref="AmqpTimestamp"/>, tables and arrays nested. Tables read as <c>name=value</c> entries; entries and array
/// elements are joined with a separator of the caller's choice.
/// </summary>
public static class HeaderText
{
    /// <summary>The value as text; null for a null value.</summary>
    public static string? Of(object? value, string separator = "\n") => value switch
    {
        null => null,
        string s => s,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        ReadOnlyMemory<byte> memory => Encoding.UTF8.GetString(memory.Span),
        BinaryTableValue binary => Encoding.UTF8.GetString(binary.Bytes),
        AmqpTimestamp timestamp => DateTimeOffset.FromUnixTimeSeconds(timestamp.UnixTime).UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        IDictionary table => string.Join(separator, table.Keys.Cast<object?>().Select(k => Of(k, separator) + "=" + Of(table[k!], separator))),
        IEnumerable list => string.Join(separator, list.Cast<object?>().Select(v => Of(v, separator))),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>The text of header <paramref name="name"/>, or null when the message has none.</summary>
    public static string? Of(MassTransit.Headers headers, string name) =>
        headers.TryGetHeader(name, out var value) ? Of(value) : null;
}
