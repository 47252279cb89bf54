using System.Globalization;

namespace Vocab.Ops.Rendering;

/// <summary>How the pages print times and ids.</summary>
public static class Format
{
    public static string Time(DateTime? value) => value is { } t ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    /// <summary>Pretty-printed JSON, or the text as it is when it is not JSON.</summary>
    public static string PrettyBody(string body)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(body);
            return System.Text.Json.JsonSerializer.Serialize(json.RootElement, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }
}
