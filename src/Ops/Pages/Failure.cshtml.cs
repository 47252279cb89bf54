using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vocab.Failures;

namespace Vocab.Ops.Pages;

/// <summary>One failure: signature status, trusted metadata, fault, body and replay history.</summary>
public sealed class FailureModel(FailureStore store) : PageModel
{
    public FailureDocument? Item { get; private set; }

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        Item = await store.GetAsync(id, cancellationToken);
        return Item is null ? NotFound() : Page();
    }
}
