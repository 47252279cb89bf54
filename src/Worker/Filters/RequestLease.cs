using Vocab.Plans;
using Vocab.Vocabularies;

namespace Vocab.Worker.Filters;

/// <summary>
/// This worker's hold on a request while it produces the answer: renewed in the background at a third of its length, so
/// a long LLM call keeps it. Disposed unanswered, it is given up (recording whether the attempt was counted); answered, it
/// is left to run out, as the stored answer answers every later copy.
/// </summary>
public sealed class RequestLease : IAsyncDisposable
{
    private readonly RequestClaims _claims;
    private readonly Guid _requestId;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;
    private bool _answered;
    private string? _countedInMonth;

    private RequestLease(RequestClaims claims, Guid requestId, string owner, TimeSpan length, TimeProvider time, bool takenAfterWaiting = false)
    {
        TakenAfterWaiting = takenAfterWaiting;
        _claims = claims;
        _requestId = requestId;
        Owner = owner;
        _renewal = RenewAsync(length, time);
    }

    /// <summary>True when another held it at first and this delivery waited: the claim may have changed meanwhile.</summary>
    public bool TakenAfterWaiting { get; }

    /// <summary>Who holds it: unique per delivery.</summary>
    public string Owner { get; }

    /// <summary>The lease <paramref name="owner"/> already holds (taken with the claim): kept renewed from now on.</summary>
    public static RequestLease Held(RequestClaims claims, Guid requestId, string owner, TimeSpan length, TimeProvider time) =>
        new(claims, requestId, owner, length, time);

    /// <summary>
    /// A new owner name, unique per delivery, that names the message delivered (<paramref name="messageId"/>), so a second
    /// copy of the same message can tell that the lease is its own message's (<see cref="IsOfMessage"/>).
    /// </summary>
    public static string NewOwner(Guid? messageId) => $"{messageId?.ToString("N") ?? "-"}.{Guid.NewGuid():N}";

    /// <summary>True when <paramref name="owner"/> is a delivery of the message <paramref name="messageId"/>.</summary>
    public static bool IsOfMessage(string? owner, Guid? messageId) =>
        owner is not null && messageId is { } id && owner.StartsWith($"{id:N}.", StringComparison.Ordinal);

    /// <summary>
    /// Takes the lease, or waits for the copy being produced elsewhere: the lease, or that copy's stored answer, or
    /// neither when <paramref name="wait"/> ran out.
    /// </summary>
    public static async Task<(RequestLease? Lease, VocabularyDocument? Stored)> AcquireAsync(RequestClaims claims, VocabularyStore store, Guid requestId,
        Guid? messageId, TimeSpan length, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        var owner = NewOwner(messageId);
        var deadline = time.GetUtcNow() + wait;
        var pause = TimeSpan.FromMilliseconds(50);
        for (var tries = 0; ; tries++)
        {
            if (await claims.TryLeaseAsync(requestId, owner, length, cancellationToken))
                return (new RequestLease(claims, requestId, owner, length, time, takenAfterWaiting: tries > 0), null);
            if (await store.FindByRequestIdAsync(requestId, cancellationToken) is { } stored)
                return (null, stored);
            if (time.GetUtcNow() >= deadline)
                return (null, null);
            await Task.Delay(pause, time, cancellationToken);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1_000));
        }
    }

    /// <summary>The request is answered (its answer stored): the lease is left to run out.</summary>
    public void MarkAnswered() => _answered = true;

    /// <summary>The request was counted by this attempt, in <paramref name="month"/>: giving the lease up records it.</summary>
    public void MarkCounted(string month) => _countedInMonth = month;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewal;
        if (!_answered)
            await _claims.ReleaseAsync(_requestId, Owner, _countedInMonth, CancellationToken.None);
        _stop.Dispose();
    }

    private async Task RenewAsync(TimeSpan length, TimeProvider time)
    {
        using var timer = new PeriodicTimer(length / 3, time);
        while (true)
        {
            try
            {
                if (!await timer.WaitForNextTickAsync(_stop.Token))
                    return;
                await _claims.TryLeaseAsync(_requestId, Owner, length, _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Tried again at the next tick; the lease runs until its end meanwhile.
            }
        }
    }
}
