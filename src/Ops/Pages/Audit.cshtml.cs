using Microsoft.AspNetCore.Mvc.RazorPages;
using Vocab.Failures;

namespace Vocab.Ops.Pages;

/// <summary>The latest ops actions: who did what, when, to how many.</summary>
public sealed class AuditModel(AuditLog audit) : PageModel
{
    public IReadOnlyList<AuditEntry> Entries { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken) => Entries = await audit.LatestAsync(200, cancellationToken);
}
