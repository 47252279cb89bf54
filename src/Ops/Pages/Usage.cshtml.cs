using System.Globalization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vocab.Plans;

namespace Vocab.Ops.Pages;

/// <summary>Each user's plan, requests and tokens this month, top users first.</summary>
public sealed class UsageModel(QuotaLedger ledger, TimeProvider time) : PageModel
{
    public string Month { get; private set; } = "";
    public IReadOnlyList<UsageDocument> Rows { get; private set; } = [];
    public long TotalRequests => Rows.Sum(r => r.Requests);
    public long TotalTokens => Rows.Sum(r => r.UsedTokens);

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Month = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        Rows = (await ledger.ListAsync(Month, cancellationToken)).OrderByDescending(r => r.Requests).ThenByDescending(r => r.UsedTokens).ToList();
    }
}
