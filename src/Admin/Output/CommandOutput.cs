using System.Text.Json;

namespace Vocab.Admin.Output;

/// <summary>Writes results as an aligned table for people or as JSON (<c>--json</c>) for scripts.</summary>
public sealed class CommandOutput(TextWriter writer, bool json)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public bool IsJson => json;

    /// <summary>One object: JSON, or "name: value" lines.</summary>
    public void Object(object value, IReadOnlyList<(string Name, string? Value)> lines)
    {
        if (json)
        {
            writer.WriteLine(JsonSerializer.Serialize(value, Json));
            return;
        }
        var width = lines.Count == 0 ? 0 : lines.Max(l => l.Name.Length);
        foreach (var (name, text) in lines)
            writer.WriteLine($"{name.PadRight(width)}  {text}");
    }

    /// <summary>Rows: a JSON array, or a table.</summary>
    public void Table<T>(IReadOnlyList<T> rows, IReadOnlyList<(string Header, Func<T, string?> Cell)> columns)
    {
        if (json)
        {
            writer.WriteLine(JsonSerializer.Serialize(rows, Json));
            return;
        }
        var cells = rows.Select(r => columns.Select(c => c.Cell(r) ?? "-").ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        writer.WriteLine(string.Join("  ", columns.Select((c, i) => c.Header.PadRight(widths[i]))).TrimEnd());
        foreach (var row in cells)
            writer.WriteLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        if (rows.Count == 0)
            writer.WriteLine("(none)");
    }

    /// <summary>A short confirmation: JSON object or one line.</summary>
    public void Done(object value, string message)
    {
        if (json)
            writer.WriteLine(JsonSerializer.Serialize(value, Json));
        else
            writer.WriteLine(message);
    }

    public static string Time(DateTime? value) => value is { } t ? t.ToString("yyyy-MM-dd HH:mm:ss'Z'") : "-";
}
