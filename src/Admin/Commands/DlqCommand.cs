using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Admin.DeadLetters;
using Vocab.Admin.Output;

namespace Vocab.Admin.Commands;

/// <summary>
/// <c>vocabctl dlq list|show|replay|purge</c> over the worker's error queue (and, with <c>--refused</c>, its bounded
/// refusals). Messages are addressed by the dead-letter id the worker assigned, never by a message id a publisher chose;
/// a message whose signature does not verify is listed as unverified and never replayed.
/// </summary>
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

    private static Option<bool> RefusedOption() =>
        new("--refused") { Description = "The refusals queue (credential and permission failures, metadata only) instead of the error queue" };

    private static async Task<T> OnQueueAsync<T>(CommandContext context, bool refused, Func<DeadLetterQueue, Task<T>> body)
    {
        var errors = context.Services.GetRequiredService<DeadLetterQueue>();
        if (!refused)
            return await body(errors);
        await using var refusals = errors.Refusals();
        return await body(refusals);
    }

    private static Command List(CommandContext context)
    {
        var reason = new Option<string?>("--reason") { Description = "Only this Vocab-Reason" };
        var limit = new Option<int>("--limit") { Description = "At most this many", DefaultValueFactory = _ => 100 };
        var refused = RefusedOption();
        var command = new Command("list", "List dead-lettered messages (they stay on the queue); VERIFIED says whether the worker's signature holds")
            { reason, limit, refused };
        command.SetAction(context.Run((parse, ct) => OnQueueAsync(context, parse.GetValue(refused), async queue =>
        {
            var wanted = parse.GetValue(reason);
            var messages = (await queue.BrowseAsync(int.MaxValue, ct))
                .Where(m => wanted is null || m.Reason == wanted).Take(parse.GetValue(limit)).ToList();
            context.OutputFor(parse).Table(messages.Select(m => new
            {
                m.DeadLetterId, m.Verified, m.Unverified, m.Time, m.Reason, m.UserId, m.KeyId, m.TokenId, m.VideoId, m.MessageId,
            }).ToList(),
            [
                ("DEAD LETTER ID", m => m.DeadLetterId), ("VERIFIED", m => m.Verified ? "yes" : "NO"), ("TIME", m => CommandOutput.Time(m.Time)),
                ("REASON", m => m.Reason), ("USER", m => m.UserId), ("KEY ID", m => m.KeyId), ("JTI", m => m.TokenId),
                ("VIDEO", m => m.VideoId), ("MESSAGE ID", m => m.MessageId),
            ]);
            return 0;
        })));
        return command;
    }

    private static Command Show(CommandContext context)
    {
        var deadLetterId = new Argument<string>("deadLetterId") { Description = "The DEAD LETTER ID from dlq list" };
        var refused = RefusedOption();
        var command = new Command("show", "Show one message: verification, reason, fault, headers and body") { deadLetterId, refused };
        command.SetAction(context.Run((parse, ct) => OnQueueAsync(context, parse.GetValue(refused), async queue =>
        {
            var id = parse.GetValue(deadLetterId)!;
            var matches = (await queue.BrowseAsync(int.MaxValue, ct)).Where(m => m.DeadLetterId == id).ToList();
            // A forger may copy a real dead-letter id: the verified copy is the one shown.
            var message = matches.OrderBy(m => m.Verified ? 0 : 1).FirstOrDefault()
                          ?? throw new InvalidOperationException($"no dead letter '{id}' on {queue.ErrorQueueName}");
            context.OutputFor(parse).Object(message,
            [
                ("dead letter id", message.DeadLetterId), ("verified", message.Verified ? "yes" : $"NO: {message.Unverified}"),
                ("message id", message.MessageId), ("time", CommandOutput.Time(message.Time)), ("reason", message.Reason),
                ("user", message.UserId), ("role", message.Role), ("key id", message.KeyId), ("jti", message.TokenId), ("video", message.VideoId),
                ("fault", $"{message.FaultType}: {message.FaultMessage}"), ("content type", message.ContentType),
                .. message.Headers.Select(h => ($"header {h.Key}", (string?)h.Value)),
                ("body", message.Body),
            ]);
            return 0;
        })));
        return command;
    }

    private static Command Replay(CommandContext context)
    {
        var deadLetterId = new Argument<string?>("deadLetterId") { Arity = ArgumentArity.ZeroOrOne, Description = "The DEAD LETTER ID from dlq list" };
        var reason = new Option<string?>("--reason") { Description = "Every verified message with this Vocab-Reason" };
        var all = new Option<bool>("--all") { Description = "Every replayable message" };
        var tokenLifetime = new Option<string>("--token-ttl") { Description = "Lifetime of the replay's credential", DefaultValueFactory = _ => "1h" };
        var command = new Command("replay", "Move messages back to the worker's queue (verified copies only; not credential failures)")
            { deadLetterId, reason, all, tokenLifetime };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var id = parse.GetValue(deadLetterId);
            var byReason = parse.GetValue(reason);
            var everything = parse.GetValue(all);
            if ((id is null ? 0 : 1) + (byReason is null ? 0 : 1) + (everything ? 1 : 0) != 1)
                throw new ArgumentException("say which messages: a dead-letter id, --reason <code> or --all");
            var lifetime = Durations.ParseDuration(parse.GetValue(tokenLifetime)!, "--token-ttl");

            var services = context.Services;
            var queue = services.GetRequiredService<DeadLetterQueue>();
            var replayer = services.GetRequiredService<DeadLetterReplayer>();
            var browsed = await queue.BrowseAsync(int.MaxValue, ct);
            var candidates = browsed.Where(m => everything || (id is not null && m.DeadLetterId == id) || (byReason is not null && m.Reason == byReason)).ToList();
            if (id is not null && candidates.Count == 0)
                throw new InvalidOperationException(browsed.Any(m => m.MessageId == id)
                    ? $"'{id}' is a message id; replay takes the DEAD LETTER ID from dlq list"
                    : $"no dead letter '{id}' on {queue.ErrorQueueName}");

            var replayable = new HashSet<string>(StringComparer.Ordinal);
            var refused = new List<object>();
            foreach (var message in candidates)
            {
                var why = await replayer.RefusalAsync(message, ct);
                if (why is null && !replayable.Add(message.DeadLetterId!))
                    why = "a second copy of the same dead letter; only one is replayed";
                if (why is not null)
                {
                    refused.Add(new { message.DeadLetterId, message.MessageId, reason = why });
                    await context.Error.WriteLineAsync($"not replayed {message.DeadLetterId ?? "(no dead-letter id)"}: {why}");
                }
            }

            // Decided again on each fetched message: only a verified copy whose id was chosen, and each id once.
            var replayed = await queue.VisitAsync(int.MaxValue, m => m.Verified && m.DeadLetterId is { } d && replayable.Remove(d),
                (channel, original, message) => replayer.PublishAsync(channel, original, message, queue.QueueName, lifetime), ct);
            context.OutputFor(parse).Done(new { replayed, refused }, $"replayed {replayed}, refused {refused.Count}");
            return id is not null && replayed == 0 ? 1 : 0;
        }));
        return command;
    }

    private static Command Purge(CommandContext context)
    {
        var deadLetterId = new Argument<string?>("deadLetterId") { Arity = ArgumentArity.ZeroOrOne, Description = "The DEAD LETTER ID from dlq list" };
        var reason = new Option<string?>("--reason") { Description = "Every message with this Vocab-Reason" };
        var all = new Option<bool>("--all") { Description = "Every message on the queue" };
        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation" };
        var refused = RefusedOption();
        var command = new Command("purge", "Delete dead-lettered messages for good") { deadLetterId, reason, all, yes, refused };
        command.SetAction(context.Run((parse, ct) => OnQueueAsync(context, parse.GetValue(refused), async queue =>
        {
            var id = parse.GetValue(deadLetterId);
            var byReason = parse.GetValue(reason);
            var everything = parse.GetValue(all);
            if ((id is null ? 0 : 1) + (byReason is null ? 0 : 1) + (everything ? 1 : 0) != 1)
                throw new ArgumentException("say which messages: a dead-letter id, --reason <code> or --all");
            if (!parse.GetValue(yes))
            {
                var what = everything ? $"all {await queue.CountAsync(ct)} messages" : id is not null ? $"dead letter '{id}'" : $"every '{byReason}' message";
                await context.Out.WriteAsync($"Delete {what} on {queue.ErrorQueueName} for good? [y/N] ");
                var answer = await context.Input.ReadLineAsync(ct);
                if (!string.Equals(answer?.Trim(), "y", StringComparison.OrdinalIgnoreCase) &&
                    !string.Equals(answer?.Trim(), "yes", StringComparison.OrdinalIgnoreCase))
                {
                    await context.Error.WriteLineAsync("vocabctl: purge cancelled");
                    return 1;
                }
            }

            long purged = everything
                ? await queue.PurgeAllAsync(ct)
                : await queue.VisitAsync(int.MaxValue, m => id is not null ? m.DeadLetterId == id : m.Reason == byReason, null, ct);
            context.OutputFor(parse).Done(new { purged }, $"purged {purged}");
            return id is not null && purged == 0 ? 1 : 0;
        })));
        return command;
    }
}
