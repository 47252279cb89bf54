using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace Vocab.Ops.Rendering;

/// <summary>Bar charts as SVG markup drawn on the server: no script, no inline style, so the CSP stays strict.</summary>
public sealed class ChartRenderer
{
    private const int Width = 720;
    private const int Height = 160;
    private const int Bottom = 20;

    /// <summary>One bar per (label, value), labels under every <paramref name="labelEvery"/>th bar.</summary>
    public string Bars(IReadOnlyList<(string Label, long Value)> bars, string title, int labelEvery = 3)
    {
        var max = Math.Max(1, bars.Count == 0 ? 1 : bars.Max(b => b.Value));
        var slot = (double)Width / Math.Max(1, bars.Count);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {Width} {Height + Bottom}\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append(CultureInfo.InvariantCulture, $"<title>{HtmlEncoder.Default.Encode(title)} (max {max})</title>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" y1=\"{Height}\" x2=\"{Width}\" y2=\"{Height}\" class=\"axis\"/>");
        for (var i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            var h = value == 0 ? 0 : Math.Max(2, value * (Height - 10.0) / max);
            var x = i * slot + 2;
            svg.Append(CultureInfo.InvariantCulture,
                $"<rect class=\"bar\" x=\"{x:F1}\" y=\"{Height - h:F1}\" width=\"{slot - 4:F1}\" height=\"{h:F1}\"><title>{HtmlEncoder.Default.Encode(label)}: {value}</title></rect>");
            if (value > 0)
                svg.Append(CultureInfo.InvariantCulture, $"<text class=\"value\" x=\"{x + (slot - 4) / 2:F1}\" y=\"{Height - h - 2:F1}\">{value}</text>");
            if (i % labelEvery == 0)
                svg.Append(CultureInfo.InvariantCulture, $"<text class=\"label\" x=\"{x:F1}\" y=\"{Height + 15}\">{HtmlEncoder.Default.Encode(label)}</text>");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }
}
