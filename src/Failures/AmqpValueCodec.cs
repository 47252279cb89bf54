using System.Collections;
using MongoDB.Bson;
using RabbitMQ.Client;

namespace Vocab.Failures;

/// <summary>
/// Stores AMQP header values in BSON with their exact types, and reads them back as the same CLR values, so a copy
/// rebuilt from the store hashes (<see cref="Messaging.DeadLetters.DeadLetterContent"/>) exactly as the delivered copy
/// did and its signature verifies, or fails, just as it would on the queue.
/// </summary>
public static class AmqpValueCodec
{
    /// <summary>The value as <c>{t: type, v: value}</c>.</summary>
    public static BsonValue Encode(object? value) => value switch
    {
        null => Tag("z", BsonNull.Value),
        string s => Tag("s", s),
        byte[] bytes => Tag("b", new BsonBinaryData(bytes)),
        bool b => Tag("bool", b),
        byte n => Tag("u8", (int)n),
        sbyte n => Tag("i8", (int)n),
        short n => Tag("i16", (int)n),
        ushort n => Tag("u16", (int)n),
        int n => Tag("i32", n),
        uint n => Tag("u32", (long)n),
        long n => Tag("i64", n),
        ulong n => Tag("u64", n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        float n => Tag("f32", new BsonBinaryData(BitConverter.GetBytes(n))),
        double n => Tag("f64", n),
        decimal n => Tag("dec", new BsonDecimal128(n)),
        AmqpTimestamp t => Tag("ts", t.UnixTime),
        IDictionary table => Tag("table", new BsonArray(table.Keys.Cast<object>().Select(k =>
            new BsonDocument { ["k"] = Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture) ?? "", ["v"] = Encode(table[k]) }))),
        IEnumerable list => Tag("list", new BsonArray(list.Cast<object?>().Select(Encode))),
        _ => Tag("s", value.ToString() ?? ""),
    };

    /// <summary>The CLR value <see cref="Encode"/> was given (strings written by the worker come back as bytes, as from the broker).</summary>
    public static object? Decode(BsonValue encoded)
    {
        var document = encoded.AsBsonDocument;
        var v = document["v"];
        return document["t"].AsString switch
        {
            "z" => null,
            "s" => v.AsString,
            "b" => v.AsBsonBinaryData.Bytes,
            "bool" => v.AsBoolean,
            "u8" => (byte)v.AsInt32,
            "i8" => (sbyte)v.AsInt32,
            "i16" => (short)v.AsInt32,
            "u16" => (ushort)v.AsInt32,
            "i32" => v.AsInt32,
            "u32" => (uint)v.AsInt64,
            "i64" => v.AsInt64,
            "u64" => ulong.Parse(v.AsString, System.Globalization.CultureInfo.InvariantCulture),
            "f32" => BitConverter.ToSingle(v.AsBsonBinaryData.Bytes),
            "f64" => v.AsDouble,
            "dec" => v.AsDecimal,
            "ts" => new AmqpTimestamp(v.AsInt64),
            "table" => v.AsBsonArray.Select(e => e.AsBsonDocument).ToDictionary(e => e["k"].AsString, e => Decode(e["v"])),
            "list" => v.AsBsonArray.Select(Decode).ToList(),
            var type => throw new FormatException($"unknown stored AMQP value type '{type}'"),
        };
    }

    private static BsonDocument Tag(string type, BsonValue value) => new() { ["t"] = type, ["v"] = value };
}
