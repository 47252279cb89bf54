namespace Vocab.Worker.FairShare;

/// <summary>One message a user holds in the worker; disposing it (once) lets the user hold another.</summary>
public sealed class FairShareHold : IDisposable
{
    private readonly FairShareScheduler _scheduler;
    private readonly UserShare _user;
    private int _released;

    internal FairShareHold(FairShareScheduler scheduler, UserShare user)
    {
        _scheduler = scheduler;
        _user = user;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            _scheduler.Release(_user);
    }
}
