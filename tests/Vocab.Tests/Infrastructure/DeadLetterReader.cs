using System.Text;
using RabbitMQ.Client;


namespace Vocab.Tests.Infrastructure;

/// <summary>Reads messages back from an error queue with the plain AMQP client, as ops tools would see them.</summary>
public static class DeadLetterReader
{
    public sealed record DeadLetter(string? MessageId, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

        /// <summary>Everything in the message as text, to search for secrets.</summary>
        public string AllText => string.Join("\n", Headers.Select(h => $"{h.Key}={h.Value}")) + "\n" + Body;
    }

    /// <summary>Waits for the message with this id on the queue (acknowledging others met on the way).</summary>
    public static async Task<DeadLetter> WaitForAsync(IConnection connection, string queue, Guid messageId, TimeSpan? timeout = null)
    {
        await using var channel = await connection.CreateChannelAsync();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        var id = messageId.ToString();
        while (DateTime.UtcNow < deadline)
        {
            BasicGetResult? result = null;
            try
            {
                result = await channel.BasicGetAsync(queue, autoAck: true);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // The error queue is declared on the first failure; until then it does not exist.
                await Task.Delay(200);
                return await WaitForAsync(connection, queue, messageId, deadline - DateTime.UtcNow);
            }

            if (result is null)
            {
                await Task.Delay(100);
                continue;
            }

            var message = ToDeadLetter(result);
            if (message.MessageId == id || message.Body.Contains(id, StringComparison.OrdinalIgnoreCase))
                return message;
        }
        throw new TimeoutException($"No message {messageId} on {queue}.");
    }

    public static DeadLetter ToDeadLetter(BasicGetResult result) =>
        new(result.BasicProperties.MessageId, ToDeadLetterHeaders(result.BasicProperties), Encoding.UTF8.GetString(result.Body.Span));

    /// <summary>A copy's headers as text (AMQP long strings arrive as bytes).</summary>
    public static Dictionary<string, string> ToDeadLetterHeaders(IReadOnlyBasicProperties properties)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in properties.Headers ?? new Dictionary<string, object?>())
            headers[key] = value switch { byte[] bytes => Encoding.UTF8.GetString(bytes), null => "", _ => value.ToString() ?? "" };
        return headers;
    }
}
