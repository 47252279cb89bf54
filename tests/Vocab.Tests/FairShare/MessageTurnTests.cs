using Microsoft.Extensions.Time.Testing;
using Vocab.Worker.FairShare;

namespace Vocab.Tests.FairShare;

/// <summary>A message's turn: given back when its call answers, taken again by a retry that calls again, freed once.</summary>
public sealed class MessageTurnTests
{
    private const long Tokens = 300;
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task GiveBack_FreesTheSlotForTheNextUserInLine_Once()
    {
        var scheduler = Scheduler(slots: 1);
        var burst = new ShareKey("burst", 1);
        using var turn = await TurnAsync(scheduler, burst);
        var light = scheduler.EnterAsync(new ShareKey("light", 1), Tokens, default);
        var another = scheduler.EnterAsync(new ShareKey("other", 1), Tokens, default);
        Assert.False(light.IsCompleted);

        turn.GiveBack(usedTokens: 120, called: true);

        Assert.False(turn.Holding);
        Assert.True(light.IsCompleted, "the slot went to the next user in line when the call answered");
        turn.Dispose();
        turn.GiveBack(usedTokens: 120, called: true);
        Assert.False(another.IsCompleted, "a turn given back is not freed a second time when the message ends");
    }

    [Fact]
    public async Task TakeAgain_WaitsForAFreeSlot_AfterAGiveBack_AndNotWhileStillHolding()
    {
        var scheduler = Scheduler(slots: 1);
        var user = new ShareKey("retrying", 1);
        using var turn = await TurnAsync(scheduler, user);

        Assert.True(turn.TakeAgainIfGivenBackAsync(default).IsCompleted, "a message still holding its turn does not wait for another");

        turn.GiveBack(usedTokens: 120, called: true);
        var other = await scheduler.EnterAsync(new ShareKey("other", 1), Tokens, default);
        var again = turn.TakeAgainIfGivenBackAsync(default);
        Assert.False(again.IsCompleted, "a retry that calls again waits for a free slot like any call");

        other.Dispose();
        await again;
        Assert.True(turn.Holding);
        var next = scheduler.EnterAsync(new ShareKey("next", 1), Tokens, default);
        Assert.False(next.IsCompleted);
        turn.Dispose();
        Assert.True(next.IsCompleted, "the turn taken again is freed when the message ends");
    }

    private static async Task<MessageTurn> TurnAsync(FairShareScheduler scheduler, ShareKey who) =>
        new(await scheduler.EnterAsync(who, Tokens, default), cancellationToken => scheduler.EnterAsync(who, Tokens, cancellationToken));

    private FairShareScheduler Scheduler(int slots) => TestSchedulers.Create(_time, slots);
}
