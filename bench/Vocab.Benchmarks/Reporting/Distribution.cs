namespace Vocab.Benchmarks.Reporting;

/// <summary>Percentiles of a set of samples, and the median/min/max of repeated runs.</summary>
public static class Distribution
{
    public static double Percentile(IReadOnlyList<double> samples, double percentile)
    {
        if (samples.Count == 0)
            return double.NaN;
        var sorted = samples.Order().ToArray();
        var rank = percentile / 100.0 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    /// <summary>"median (min–max)" of the runs' values.</summary>
    public static (double Median, double Min, double Max) OfRuns(IEnumerable<double> runs)
    {
        var values = runs.ToList();
        return (Percentile(values, 50), values.Min(), values.Max());
    }

    public static string Format((double Median, double Min, double Max) value, string format) =>
        $"{value.Median.ToString(format, System.Globalization.CultureInfo.InvariantCulture)} " +
        $"({value.Min.ToString(format, System.Globalization.CultureInfo.InvariantCulture)}–{value.Max.ToString(format, System.Globalization.CultureInfo.InvariantCulture)})";
}
