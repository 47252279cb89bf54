namespace Vocab.Worker.FairShare;

/// <summary>
/// A message's turn in the fair share (a payload of its consume context), granted before its admission and given back as
/// soon as its LLM call answers, or its answer is found stored: storing the answer and replying are MongoDB's and the
/// broker's work, and the next user in line should not wait for them. A message refused or failed holds it until it
/// ends. A retry after the turn was given back (its answer could not be stored) waits for a turn again.
/// </summary>
public sealed class MessageTurn : IDisposable
{
    private readonly Func<CancellationToken, Task<LlmTurn>> _takeTurn;
    private LlmTurn? _turn;

    /// <param name="first">The turn the message was granted.</param>
    /// <param name="takeTurn">Waits for another turn as the same user.</param>
    public MessageTurn(LlmTurn first, Func<CancellationToken, Task<LlmTurn>> takeTurn)
    {
        _turn = first;
        _takeTurn = takeTurn;
    }

    /// <summary>Whether the message holds a turn now.</summary>
    public bool Holding => Volatile.Read(ref _turn) is not null;

    /// <summary>Waits for a turn again if the message gave its last one back; at once if it still holds one.</summary>
    public async Task TakeAgainIfGivenBackAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _turn) is null)
            Volatile.Write(ref _turn, await _takeTurn(cancellationToken));
    }

    /// <summary>Charges the turn held now <paramref name="usedTokens"/> in place of its estimate (<see cref="LlmTurn.Settle"/>).</summary>
    public void Settle(long usedTokens) => Volatile.Read(ref _turn)?.Settle(usedTokens);

    /// <summary>Charges the turn held now as a call (<see cref="LlmTurn.SettleAsHeld"/>).</summary>
    public void SettleAsHeld() => Volatile.Read(ref _turn)?.SettleAsHeld();

    /// <summary>
    /// The message is done with the LLM (its call answered: <paramref name="called"/>; or its answer was found stored or
    /// reused): the turn is charged what it used (<see cref="LlmTurn.Settle"/>) and freed for the next user in line.
    /// </summary>
    public void GiveBack(long usedTokens, bool called)
    {
        if (Interlocked.Exchange(ref _turn, null) is not { } turn)
            return;
        turn.Settle(usedTokens, called);
        turn.Dispose();
    }

    /// <summary>Frees the turn held now, if any (one never settled keeps the charge it started with).</summary>
    public void Dispose() => Interlocked.Exchange(ref _turn, null)?.Dispose();
}
