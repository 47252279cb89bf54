using Vocab.Plans;

namespace Vocab.Worker.Filters;

/// <summary>
/// This worker's hold on a request while it produces the answer: renewed in the background at a third of its length, so
/// a long LLM call keeps it, and given up when disposed unless the request was completed.
/// </summary>
public sealed class RequestLease : IAsyncDisposable
{
    private readonly RequestClaims _claims;
    private readonly Guid _requestId;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;
    private bool _completed;

    private RequestLease(RequestClaims claims, Guid requestId, string owner, TimeSpan length, TimeProvider time)
    {
        _claims = claims;
        _requestId = requestId;
        Owner = owner;
        _renewal = RenewAsync(length, time);
    }

    /// <summary>Who holds it: unique per delivery.</summary>
    public string Owner { get; }

    /// <summary>The lease <paramref name="owner"/> already holds (taken with the claim): kept renewed from now on.</summary>
    public static RequestLease Held(RequestClaims claims, Guid requestId, string owner, TimeSpan length, TimeProvider time) =>
        new(claims, requestId, owner, length, time);

    /// <summary>A new owner name, unique per delivery.</summary>
    public static string NewOwner() => Guid.NewGuid().ToString("N");

    /// <summary>Takes the lease, or waits for the copy being produced elsewhere: null when that copy completed the request meanwhile or <paramref name="wait"/> ran out.</summary>
    public static async Task<(RequestLease? Lease, bool Completed)> AcquireAsync(RequestClaims claims, Guid requestId, TimeSpan length, TimeSpan wait,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var owner = NewOwner();
        var deadline = time.GetUtcNow() + wait;
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            if (await claims.TryLeaseAsync(requestId, owner, length, cancellationToken))
                return (new RequestLease(claims, requestId, owner, length, time), false);
            if (await claims.GetAsync(requestId, cancellationToken) is { Completed: true })
                return (null, true);
            if (time.GetUtcNow() >= deadline)
                return (null, false);
            await Task.Delay(pause, time, cancellationToken);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1_000));
        }
    }

    /// <summary>Marks the request answered; the lease ends with it.</summary>
    public async Task CompleteAsync()
    {
        await _claims.CompleteAsync(_requestId, Owner, CancellationToken.None);
        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewal;
        if (!_completed)
            await _claims.ReleaseAsync(_requestId, Owner, CancellationToken.None);
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
