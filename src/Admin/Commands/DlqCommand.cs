using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Admin.DeadLetters;
using Vocab.Admin.Output;

namespace Vocab.Admin.Commands;

/// <summary><c>vocabctl dlq list|show|replay|purge</c> over the worker's error queue.</summary>
public static class DlqCommand
{
    public static Command Create(CommandContext context)
    {
        var dlq = new Command("dlq", "Inspect, replay and purge the dead-letter (error) queue");
        dlq.Subcommands.Add(List(context));
        dlq.Subcommands.Add(Show(context));
        dlq.Subcommands.Add(Replay(context));
        dlq.Subcommands.Add(Purge(context));
        return dlq;
    }

    private static Command List(CommandContext context)
    {
        var reason = new Option<string?>("--reason") { Description = "Only this Vocab-Reason" };
        var limit = new Option<int>("--limit") { Description = "At most this many", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List dead-lettered messages (they stay on the queue)") { reason, limit };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var queue = context.Services.GetRequiredService<DeadLetterQueue>();
            var wanted = parse.GetValue(reason);
            var messages = (await queue.BrowseAsync(int.MaxValue, ct))
                .Where(m => wanted is null || m.Reason == wanted).Take(parse.GetValue(limit)).ToList();
            context.OutputFor(parse).Table(messages.Select(m => new { m.MessageId, m.Time, m.Reason, m.UserId, m.KeyId, m.TokenId, m.VideoId }).ToList(),
            [
                ("MESSAGE ID", m => m.MessageId), ("TIME", m => CommandOutput.Time(m.Time)), ("REASON", m => m.Reason),
                ("USER", m => m.UserId), ("KEY ID", m => m.KeyId), ("JTI", m => m.TokenId), ("VIDEO", m => m.VideoId),
            ]);
            return 0;
        }));
        return command;
    }

    private static Command Show(CommandContext context)
    {
        var messageId = new Argument<string>("messageId");
        var command = new Command("show", "Show one message: reason, fault, headers and body") { messageId };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var id = parse.GetValue(messageId)!;
            var message = (await context.Services.GetRequiredService<DeadLetterQueue>().BrowseAsync(int.MaxValue, ct))
                .FirstOrDefault(m => m.MessageId == id) ?? throw new InvalidOperationException($"no message '{id}' on the error queue");
            context.OutputFor(parse).Object(message,
            [
                ("message id", message.MessageId), ("time", CommandOutput.Time(message.Time)), ("reason", message.Reason),
                ("user", message.UserId), ("key id", message.KeyId), ("jti", message.TokenId), ("video", message.VideoId),
                ("fault", $"{message.FaultType}: {message.FaultMessage}"), ("content type", message.ContentType),
                .. message.Headers.Select(h => ($"header {h.Key}", (string?)h.Value)),
                ("body", message.Body),
            ]);
            return 0;
        }));
        return command;
    }

    private static Command Replay(CommandContext context)
    {
        var messageId = new Argument<string?>("messageId") { Arity = ArgumentArity.ZeroOrOne };
        var reason = new Option<string?>("--reason") { Description = "Every message with this Vocab-Reason" };
        var all = new Option<bool>("--all") { Description = "Every replayable message" };
        var tokenLifetime = new Option<string>("--token-ttl") { Description = "Lifetime of the replay's credential", DefaultValueFactory = _ => "1h" };
        var command = new Command("replay", "Move messages back to the worker's queue (not credential failures)") { messageId, reason, all, tokenLifetime };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var id = parse.GetValue(messageId);
            var byReason = parse.GetValue(reason);
            var everything = parse.GetValue(all);
            if ((id is null ? 0 : 1) + (byReason is null ? 0 : 1) + (everything ? 1 : 0) != 1)
                throw new ArgumentException("say which messages: a message id, --reason <code> or --all");
            var lifetime = Durations.ParseDuration(parse.GetValue(tokenLifetime)!, "--token-ttl");

            var services = context.Services;
            var queue = services.GetRequiredService<DeadLetterQueue>();
            var replayer = services.GetRequiredService<DeadLetterReplayer>();
            var candidates = (await queue.BrowseAsync(int.MaxValue, ct))
                .Where(m => everything || m.MessageId == id || (byReason is not null && m.Reason == byReason)).ToList();
            if (id is not null && candidates.Count == 0)
                throw new InvalidOperationException($"no message '{id}' on the error queue");

            var replayable = new HashSet<string>(StringComparer.Ordinal);
            var refused = new List<object>();
            foreach (var message in candidates)
            {
                if (await replayer.RefusalAsync(message, ct) is { } why)
                {
                    refused.Add(new { message.MessageId, reason = why });
                    await context.Error.WriteLineAsync($"not replayed {message.MessageId}: {why}");
                }
                else
                {
                    replayable.Add(message.MessageId);
                }
            }

            var replayed = await queue.VisitAsync(int.MaxValue, m => replayable.Contains(m.MessageId),
                (channel, original) => replayer.PublishAsync(channel, original, DeadLetterMessage.From(original), queue.QueueName, lifetime), ct);
            context.OutputFor(parse).Done(new { replayed, refused }, $"replayed {replayed}, refused {refused.Count}");
            return id is not null && replayed == 0 ? 1 : 0;
        }));
        return command;
    }

    private static Command Purge(CommandContext context)
    {
        var reason = new Option<string?>("--reason") { Description = "Only messages with this Vocab-Reason" };
        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation" };
        var command = new Command("purge", "Delete dead-lettered messages for good") { reason, yes };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var queue = context.Services.GetRequiredService<DeadLetterQueue>();
            var byReason = parse.GetValue(reason);
            if (!parse.GetValue(yes))
            {
                var what = byReason is null ? $"all {await queue.CountAsync(ct)} messages" : $"every '{byReason}' message";
                await context.Out.WriteAsync($"Delete {what} on {queue.ErrorQueueName} for good? [y/N] ");
                var answer = await context.Input.ReadLineAsync(ct);
                if (!string.Equals(answer?.Trim(), "y", StringComparison.OrdinalIgnoreCase) &&
                    !string.Equals(answer?.Trim(), "yes", StringComparison.OrdinalIgnoreCase))
                {
                    await context.Error.WriteLineAsync("vocabctl: purge cancelled");
                    return 1;
                }
            }

            long purged = byReason is null
                ? await queue.PurgeAllAsync(ct)
                : await queue.VisitAsync(int.MaxValue, m => m.Reason == byReason, null, ct);
            context.OutputFor(parse).Done(new { purged }, $"purged {purged}");
            return 0;
        }));
        return command;
    }
}
