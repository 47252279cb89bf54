using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vocab.Failures;
using Vocab.Ops.Authentication;

namespace Vocab.Ops.Pages;

/// <summary>Exchanges an ops credential for the session cookie; the credential itself is never kept.</summary>
public sealed class SignInModel(OpsSignIn signIn, AuditLog audit) : PageModel
{
    [BindProperty]
    public string? Credential { get; set; }

    public string? Message { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? returnUrl, CancellationToken cancellationToken)
    {
        var outcome = await signIn.SignInAsync(Credential, HttpContext.Connection.RemoteIpAddress, cancellationToken);
        Credential = null;
        if (outcome.Principal is null)
        {
            Message = outcome.Message;
            Response.StatusCode = outcome.Status;
            return Page();
        }
        await HttpContext.SignInAsync(OpsClaims.Scheme, outcome.Principal);
        await audit.WriteAsync(OpsClaims.Operator(outcome.Principal), "sign-in", 1, "", cancellationToken);
        return LocalRedirect(Url.IsLocalUrl(returnUrl) ? returnUrl : "/");
    }

    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(OpsClaims.Scheme);
        return RedirectToPage("/SignIn");
    }
}
