namespace Vocab.Messaging;

/// <summary>
/// Which AMQP <c>reply_to</c> a plain publisher may name for the worker to answer on: a queue only its own connection
/// reads, i.e. RabbitMQ's direct reply-to (<c>amq.rabbitmq.reply-to</c>) or a server-named queue (<c>amq.gen-…</c>), the
/// two a publisher's account may read (rabbitmq/definitions.json). The worker answers through the default exchange,
/// which reaches every queue: any other name would let a publisher have the worker write into a queue it cannot
/// (an ops queue, another subscriber's).
/// </summary>
public static class ReplyQueues
{
    public const string DirectReplyTo = "amq.rabbitmq.reply-to";
    public const string ServerNamedPrefix = "amq.gen-";

    /// <summary>True when the worker may answer on <paramref name="replyTo"/>.</summary>
    public static bool IsAnswerable(string? replyTo) =>
        !string.IsNullOrEmpty(replyTo) && (IsDirectReplyTo(replyTo) || replyTo.StartsWith(ServerNamedPrefix, StringComparison.Ordinal));

    /// <summary>
    /// True for a direct reply-to name as the broker hands it to the worker, "amq.rabbitmq.reply-to.&lt;channel&gt;.&lt;key&gt;" (the
    /// bare name is what the requester writes; the broker rewrites it).
    /// </summary>
    public static bool IsDirectReplyTo(string replyTo) => replyTo.StartsWith(DirectReplyTo + ".", StringComparison.Ordinal);

    /// <summary>
    /// True when a MassTransit response address names one of the worker's own queues (the input queue
    /// <paramref name="inputQueue"/> or one with its name and a suffix) or a contract's exchange: never answered there.
    /// </summary>
    public static bool IsWorkersOwn(string addressName, string inputQueue, string contractPrefix) =>
        addressName.Equals(inputQueue, StringComparison.OrdinalIgnoreCase) ||
        addressName.StartsWith(inputQueue + "_", StringComparison.OrdinalIgnoreCase) ||
        addressName.StartsWith(contractPrefix, StringComparison.OrdinalIgnoreCase);

    // What MassTransit's own bus endpoint addresses carry. Every other option (bind, queue, bindexchange,
    // alternateexchange, type, delayedtype…) makes MassTransit declare or bind more than the one exchange the name says.
    private static readonly string[] PlainAddressOptions = ["temporary", "durable", "autodelete"];

    /// <summary>
    /// True when a MassTransit response address is a plain bus endpoint address: <c>rabbitmq(s)://host/[vhost/]name</c> with
    /// no option beyond temporary/durable/autodelete. A publisher could otherwise have the worker declare and bind queues
    /// and exchanges of its choosing when it answers (<c>?bind=true&amp;queue=…</c>, <c>?bindexchange=…</c>, <c>queue:…</c>).
    /// </summary>
    public static bool IsPlainBusAddress(Uri address)
    {
        if (!address.IsAbsoluteUri || !(address.Scheme.Equals("rabbitmq", StringComparison.OrdinalIgnoreCase)
                                         || address.Scheme.Equals("rabbitmqs", StringComparison.OrdinalIgnoreCase)))
            return false;
        if (address.AbsolutePath.EndsWith('/'))
            return false;
        var query = address.Query.TrimStart('?');
        return query.Length == 0 || query.Split('&').All(option =>
            PlainAddressOptions.Contains(Uri.UnescapeDataString(option.Split('=')[0]).Trim(), StringComparer.OrdinalIgnoreCase));
    }
}
