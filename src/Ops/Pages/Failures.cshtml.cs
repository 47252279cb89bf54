using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Vocab.Failures;

namespace Vocab.Ops.Pages;

/// <summary>Stored failures, newest first, filtered and paged along the store's indexes.</summary>
public sealed class FailuresModel(FailureStore store) : PageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true, Name = "group")] public string? Group { get; set; }
    [BindProperty(SupportsGet = true, Name = "reason")] public string? Reason { get; set; }
    [BindProperty(SupportsGet = true, Name = "user")] public string? UserId { get; set; }
    [BindProperty(SupportsGet = true, Name = "key")] public string? KeyId { get; set; }
    [BindProperty(SupportsGet = true, Name = "video")] public string? VideoId { get; set; }
    [BindProperty(SupportsGet = true, Name = "from")] public DateTime? From { get; set; }
    [BindProperty(SupportsGet = true, Name = "to")] public DateTime? To { get; set; }
    [BindProperty(SupportsGet = true, Name = "status")] public string Status { get; set; } = FailureStatus.Open;
    [BindProperty(SupportsGet = true, Name = "before")] public string? Before { get; set; }

    public IReadOnlyList<FailureDocument> Rows { get; private set; } = [];

    public FailureCursor? Next { get; private set; }

    public string NextLink => QueryHelpers.AddQueryString("/Failures", Query().Append(new("before", Next?.ToString())));

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        (Rows, Next) = await store.ListAsync(Filter(FailureCursor.Parse(Before)), PageSize, cancellationToken);
    }

    /// <summary>The filter as the page's query says it (also used by the actions page for a whole selection).</summary>
    public FailureFilter Filter(FailureCursor? before = null) => new(
        Reason: Empty(Reason), Group: Empty(Group), UserId: Empty(UserId), KeyId: Empty(KeyId), VideoId: Empty(VideoId),
        From: From is { } f ? DateTime.SpecifyKind(f, DateTimeKind.Utc) : null, To: To is { } t ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : null,
        Status: Status == "all" ? null : Status, Before: before);

    private IEnumerable<KeyValuePair<string, string?>> Query() =>
    [
        new("group", Group), new("reason", Reason), new("user", UserId), new("key", KeyId), new("video", VideoId),
        new("from", From?.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture)), new("to", To?.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture)),
        new("status", Status),
    ];

    private static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
