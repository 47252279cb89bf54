using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;

namespace Vocab.Worker.Outcome;

/// <summary>
/// Why a message failed for good and whose it was, as the worker proved it: the reason code the requester is answered with
/// and the trusted metadata its dead-letter copy carries (and signs). Never a credential.
/// </summary>
public sealed record FailureVerdict(string Reason, string? UserId, string? KeyId, string? TokenId, string? Role)
{
    /// <summary>The verdict on <paramref name="failure"/>: our own failures carry their reason; unreadable input is <c>invalid_request</c>; the rest <c>internal_error</c>.</summary>
    public static FailureVerdict For(Exception failure, AuthenticatedCaller? caller)
    {
        var known = Find<VocabRequestException>(failure);
        var reason = known?.Reason ?? (IsUnreadable(failure) ? RejectionReasons.InvalidRequest : RejectionReasons.InternalError);
        return new FailureVerdict(reason, known?.UserId ?? caller?.UserId, known?.KeyId ?? caller?.KeyId, known?.TokenId ?? caller?.TokenId, caller?.Role);
    }

    /// <summary>True for the caller's own mistakes (a refused credential, an invalid request): warnings, not the service's errors.</summary>
    public bool IsCallersFault => RejectionReasons.CredentialReasons.Contains(Reason) || Reason is RejectionReasons.InvalidRequest or
        RejectionReasons.RequestIdReused or RejectionReasons.RequestInProgress or RejectionReasons.RateLimited or RejectionReasons.QuotaExceeded;

    /// <summary>
    /// True for the plan's and the requestId's refusals (over the rate or quota, no plan, the id bound to another request or
    /// in progress): a requester that asked to be answered without waiting and was answered with one has all it needs.
    /// </summary>
    public bool EndsWithItsAnswer => Reason is RejectionReasons.RateLimited or RejectionReasons.QuotaExceeded or RejectionReasons.Forbidden or
        RejectionReasons.RequestIdReused or RejectionReasons.RequestInProgress;

    /// <summary>
    /// True when the copy can never be replayed: no caller was proven, the credential or permission was refused, or the
    /// request itself is refused whenever it comes (invalid, or its requestId bound to another request). Such a copy keeps
    /// metadata only, on the bounded refused queue: a key holder sending what is refused at once, at no cost to its quota,
    /// would otherwise store its bodies unbounded on the error queue and in the failure store.
    /// </summary>
    public bool IsRefusal => UserId is null || RejectionReasons.CredentialReasons.Contains(Reason) || Answered
        || Reason is RejectionReasons.InvalidRequest or RejectionReasons.RequestIdReused;

    /// <summary>
    /// Answered, with a reason that <see cref="EndsWithItsAnswer"/>, to a requester that asked not to wait (the bridge's
    /// 429, 402, 409, 422): filed like a refusal, metadata only on the bounded refused queue, since replaying it would
    /// answer nobody; and a flood of them costs the broker a bounded amount.
    /// </summary>
    public bool Answered { get; init; }

    /// <summary>Writes the verdict as the dead-letter copy's trusted headers.</summary>
    public void WriteTo(SendHeaders headers)
    {
        headers.Set(VocabHeaders.Reason, Reason);
        if (UserId is not null)
            headers.Set(VocabHeaders.UserId, UserId);
        if (KeyId is not null)
            headers.Set(VocabHeaders.KeyId, KeyId);
        if (TokenId is not null)
            headers.Set(VocabHeaders.TokenId, TokenId);
        if (Role is not null)
            headers.Set(VocabHeaders.Role, Role);
    }

    /// <summary>The first <typeparamref name="TException"/> in the exception's chain, aggregates included.</summary>
    public static TException? Find<TException>(Exception? exception) where TException : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is TException found)
                return found;
            if (e is AggregateException aggregate)
                return aggregate.InnerExceptions.Select(Find<TException>).FirstOrDefault(f => f is not null);
        }
        return null;
    }

    private static bool IsUnreadable(Exception failure) =>
        Find<System.Runtime.Serialization.SerializationException>(failure) is not null || Find<System.Text.Json.JsonException>(failure) is not null;
}
