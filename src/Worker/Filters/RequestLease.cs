using Vocab.Plans;
using Vocab.Vocabularies;

namespace Vocab.Worker.Filters;

/// <summary>
/// This delivery's hold on an admitted request while it produces the answer: the lease recorded with the request's
/// reservation (<c>open.&lt;requestId&gt;</c> in the user's month), renewed in the background at a third of its length, so
/// a long LLM call keeps it. It ends with the reservation (settled or given back); disposing it only stops the renewal.
/// </summary>
public sealed class RequestLease : IAsyncDisposable
{
    private readonly QuotaLedger _ledger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;
    private QuotaReservation _reservation;

    private RequestLease(QuotaLedger ledger, QuotaReservation reservation, string owner, TimeSpan length, TimeProvider time)
    {
        _ledger = ledger;
        _reservation = reservation;
        Owner = owner;
        _renewal = RenewAsync(length, time);
    }

    /// <summary>Who holds it: unique per delivery.</summary>
    public string Owner { get; }

    /// <summary>The lease <paramref name="owner"/> took with the admission: kept renewed from now on.</summary>
    public static RequestLease Held(QuotaLedger ledger, QuotaReservation reservation, string owner, TimeSpan length, TimeProvider time) =>
        new(ledger, reservation, owner, length, time);

    /// <summary>
    /// A new owner name, unique per delivery, that names the message delivered (<paramref name="messageId"/>), so a second
    /// copy of the same message can tell that the lease is its own message's (<see cref="IsOfMessage"/>).
    /// </summary>
    public static string NewOwner(Guid? messageId) => $"{messageId?.ToString("N") ?? "-"}.{Guid.NewGuid():N}";

    /// <summary>True when <paramref name="owner"/> is a delivery of the message <paramref name="messageId"/>.</summary>
    public static bool IsOfMessage(string? owner, Guid? messageId) =>
        owner is not null && messageId is { } id && owner.StartsWith($"{id:N}.", StringComparison.Ordinal);

    /// <summary>
    /// Takes the lease of a request admitted already (<paramref name="inFlight"/>: its holder stopped, or this is its own
    /// delivery again), or waits for the copy being produced elsewhere: the lease, or that copy's stored answer, or
    /// neither when <paramref name="wait"/> ran out (or the request was given back meanwhile: admitted again, it is new).
    /// </summary>
    public static async Task<(RequestLease? Lease, VocabularyDocument? Stored)> AcquireAsync(QuotaLedger ledger, VocabularyStore store,
        QuotaReservation inFlight, Guid? messageId, TimeSpan length, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        var owner = NewOwner(messageId);
        var deadline = time.GetUtcNow() + wait;
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            if (await ledger.TryLeaseAsync(inFlight, owner, length, cancellationToken))
                return (new RequestLease(ledger, inFlight, owner, length, time), null);
            if (await store.FindByRequestIdAsync(inFlight.RequestId, cancellationToken) is { } stored)
                return (null, stored);
            if (time.GetUtcNow() >= deadline)
                return (null, null);
            await Task.Delay(pause, time, cancellationToken);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1_000));
        }
    }

    /// <summary>The request reserved again (its earlier reservation settled): the lease now lives with the new one.</summary>
    public void Follow(QuotaReservation reservation) => Volatile.Write(ref _reservation, reservation);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewal;
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
                await _ledger.TryLeaseAsync(Volatile.Read(ref _reservation), Owner, length, _stop.Token);
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
