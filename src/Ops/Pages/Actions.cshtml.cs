using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Vocab.Failures;
using Vocab.Ops.Authentication;

namespace Vocab.Ops.Pages;

/// <summary>
/// Replay, archive or purge one failure, a selection or a whole group: the GET shows what would be done, only the
/// confirming POST (with its antiforgery token) does it, and every action is written to the audit log.
/// </summary>
public sealed class ActionsModel(FailureStore store, FailureReplayer replayer, AuditLog audit, IOptions<FailureOptions> options) : PageModel
{
    private const int MaxSelection = 10_000;
    private static readonly string[] Known = ["replay", "archive", "purge"];

    [BindProperty(SupportsGet = true, Name = "action")] public string Action { get; set; } = "";
    [BindProperty(SupportsGet = true, Name = "group")] public string? Group { get; set; }
    [BindProperty(SupportsGet = true, Name = "id")] public List<string> Ids { get; set; } = [];

    public long Count { get; private set; }
    public string What { get; private set; } = "";
    public string? Done { get; private set; }
    public List<(string Id, string? DeadLetterId, string Why)> Refusals { get; private set; } = [];
    public double ReplaysPerSecond => options.Value.ReplaysPerSecond;
    public string Verb => Action switch { "replay" => "Replay", "archive" => "Archive", _ => "Purge" };

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        if (!Known.Contains(Action) || (Ids.Count == 0 && string.IsNullOrEmpty(Group)))
            return BadRequest();
        Count = Ids.Count > 0 ? Ids.Count : await store.CountAsync(GroupFilter(), cancellationToken);
        What = Ids.Count > 0 ? $"Selected: {string.Join(", ", Ids.Take(20))}{(Ids.Count > 20 ? ", …" : "")}" : $"Every open failure of group '{Group}'.";
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (!Known.Contains(Action) || (Ids.Count == 0 && string.IsNullOrEmpty(Group)))
            return BadRequest();
        // A group is resolved to ids now, with the ids the store assigned: what is acted on is what was confirmed.
        var ids = Ids.Count > 0 ? Ids.Distinct(StringComparer.Ordinal).Take(MaxSelection).ToList()
            : (await store.IdsAsync(GroupFilter(), MaxSelection, cancellationToken)).ToList();
        var by = OpsClaims.Operator(User);
        var selection = Ids.Count > 0 ? $"ids {string.Join(",", ids)}" : $"group '{Group}'";
        switch (Action)
        {
            case "replay":
                var outcome = await replayer.ReplayAsync(ids, by, TimeSpan.FromHours(1), cancellationToken);
                Refusals = outcome.Refused.ToList();
                Done = $"Replayed {outcome.Replayed.Count}, refused {outcome.Refused.Count}.";
                await audit.WriteAsync(by, "replay", outcome.Replayed.Count, $"{selection}: {Done}", cancellationToken);
                break;
            case "archive":
                var archived = await store.ArchiveAsync(ids, cancellationToken);
                Done = $"Archived {archived}.";
                await audit.WriteAsync(by, "archive", archived, selection, cancellationToken);
                break;
            default:
                var purged = await store.PurgeAsync(ids, cancellationToken);
                Done = $"Purged {purged}.";
                await audit.WriteAsync(by, "purge", purged, selection, cancellationToken);
                break;
        }
        return Page();
    }

    private FailureFilter GroupFilter() => new(Group: Group, Status: FailureStatus.Open);
}
