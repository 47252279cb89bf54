using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;
using Vocab.Authentication.Jwt;
using Vocab.Failures;
using Vocab.Ops.Authentication;

namespace Vocab.Ops.Pages;

/// <summary>API keys as vocabctl keys manages them (list without secrets, create shown once, revoke, rotate with grace) and a user's tokens revoked.</summary>
public sealed class KeysModel(ApiKeyStore keys, TokenBlacklist blacklist, AuditLog audit, TimeProvider time) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "user")] public string? UserFilter { get; set; }

    public IReadOnlyList<ApiKeyDocument> Keys { get; private set; } = [];
    public string? NewKey { get; private set; }
    public string? Message { get; private set; }
    public DateTime Now => time.GetUtcNow().UtcDateTime;

    public static string Status(ApiKeyDocument key, DateTime now) => !key.Active ? "revoked" : key.ExpiresAt <= now ? "expired" : "active";

    public async Task OnGetAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken);

    public async Task<IActionResult> OnPostCreateAsync(string userId, string role, string? name, int? expiresDays, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(userId) || !Roles.All.Contains(role))
            return BadRequest();
        if (!MayManage(role))
            return Forbid();
        var expiresAt = expiresDays is > 0 ? Now.AddDays(expiresDays.Value) : (DateTime?)null;
        var (key, document) = await keys.CreateAsync(userId.Trim(), role, Now, expiresAt, string.IsNullOrWhiteSpace(name) ? null : name, cancellationToken: cancellationToken);
        NewKey = key;
        Message = $"Created key {document.KeyId} for {document.UserId} ({document.Role}).";
        await audit.WriteAsync(OpsClaims.Operator(User), "key.create", 1, $"key {document.KeyId} for user {document.UserId}, role {document.Role}", cancellationToken);
        await LoadAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(string keyId, bool confirm, CancellationToken cancellationToken)
    {
        if (!confirm)
            return BadRequest();
        if (await keys.FindByIdAsync(keyId, cancellationToken) is not { } revoked)
            return NotFound();
        if (!MayManage(revoked.Role))
            return Forbid();
        if (!await keys.RevokeAsync(keyId, Now, cancellationToken))
            return NotFound();
        Message = $"Revoked {keyId}.";
        await audit.WriteAsync(OpsClaims.Operator(User), "key.revoke", 1, $"key {keyId}", cancellationToken);
        await LoadAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostRotateAsync(string keyId, int graceHours, bool confirm, CancellationToken cancellationToken)
    {
        if (!confirm || graceHours is < 0 or > 720)
            return BadRequest();
        if (await keys.FindByIdAsync(keyId, cancellationToken) is not { Active: true } old)
            return NotFound();
        if (!MayManage(old.Role))
            return Forbid();
        var graceEnds = Now.AddHours(graceHours);
        var (key, created) = await keys.CreateAsync(old.UserId, old.Role, Now, old.ExpiresAt, old.Name, keyId, cancellationToken);
        var oldExpiry = old.ExpiresAt is { } e && e < graceEnds ? e : graceEnds;
        await keys.ExpireAtAsync(keyId, oldExpiry, cancellationToken);
        NewKey = key;
        Message = $"Rotated {keyId} to {created.KeyId}; the old key works until {Rendering.Format.Time(oldExpiry)}.";
        await audit.WriteAsync(OpsClaims.Operator(User), "key.rotate", 1, $"key {keyId} -> {created.KeyId}, grace {graceHours} h", cancellationToken);
        await LoadAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeUserAsync(string userId, bool confirm, CancellationToken cancellationToken)
    {
        if (!confirm || string.IsNullOrWhiteSpace(userId))
            return BadRequest();
        await blacklist.RevokeUserAsync(userId.Trim(), Now, cancellationToken);
        Message = $"Every token of user {userId} issued before now is refused.";
        await audit.WriteAsync(OpsClaims.Operator(User), "tokens.revoke-user", 1, $"user {userId}", cancellationToken);
        await LoadAsync(cancellationToken);
        return Page();
    }

    /// <summary>
    /// An admin manages every key; an ops operator only callers' keys (user, premium): issuing, rotating or revoking an
    /// operator's key, or an admin key (on the unlimited plan), would let it raise itself above its own role.
    /// </summary>
    private bool MayManage(string role) => User.IsInRole(Roles.Admin) || role is Roles.User or Roles.Premium;

    private async Task LoadAsync(CancellationToken cancellationToken) =>
        Keys = await keys.ListAsync(string.IsNullOrWhiteSpace(UserFilter) ? null : UserFilter.Trim(), cancellationToken);
}
