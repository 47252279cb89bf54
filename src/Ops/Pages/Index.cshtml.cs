using Microsoft.AspNetCore.Mvc.RazorPages;
using Vocab.Failures;
using Vocab.Ops.Rendering;

namespace Vocab.Ops.Pages;

/// <summary>Open failures grouped by reason (by exception type for internal errors), and the last 24 hours per hour.</summary>
public sealed class IndexModel(FailureStore store, ChartRenderer charts, TimeProvider time) : PageModel
{
    public IReadOnlyList<FailureGroup> Groups { get; private set; } = [];

    public string Chart { get; private set; } = "";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var groups = store.GroupsAsync(FailureStatus.Open, cancellationToken);
        var hours = store.PerHourAsync(time.GetUtcNow().UtcDateTime, 24, null, cancellationToken);
        Groups = await groups;
        Chart = charts.Bars((await hours).Select(h => (h.Hour.ToString("HH:00", System.Globalization.CultureInfo.InvariantCulture), h.Count)).ToList(),
            "Failures per hour, last 24 hours (UTC)");
    }
}
