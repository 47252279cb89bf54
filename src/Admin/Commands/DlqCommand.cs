using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Driver;
using Vocab.Admin.Output;
using Vocab.Failures;
using Vocab.Messaging;

namespace Vocab.Admin.Commands;

/// <summary>
/// <c>vocabctl dlq ingest|list|show|replay|purge</c> over the failure store. <c>ingest</c> is the only one that reads the
/// broker (it moves what waits on <c>_error</c> and <c>_refused</c> into the store, as the ops console does all the
/// time); the rest read and act on the store, so listing never touches a queue. Failures are addressed by the id the
/// store gives them: the worker's dead-letter id for a copy whose signature verifies, never a message id a publisher
/// chose; an unverified copy is listed as such and never replayed.
/// </summary>
public static class DlqCommand
{
    public static Command Create(CommandContext context)
    {
        var dlq = new Command("dlq", "Dead letters: ingest them into the failure store, then list, show, replay and purge them there");
        dlq.Subcommands.Add(Ingest(context));
        dlq.Subcommands.Add(List(context));
        dlq.Subcommands.Add(Show(context));
        dlq.Subcommands.Add(Replay(context));
        dlq.Subcommands.Add(Purge(context));
        return dlq;
    }

    private static Option<bool> RefusedOption() =>
        new("--refused") { Description = "Refusals (credential and permission failures, metadata only) instead of replayable failures" };

    private static string Operator => $"vocabctl:{Environment.UserName}";

    private static Command Ingest(CommandContext context)
    {
        var command = new Command("ingest", "Move every dead letter waiting on the error and refusals queues into the failure store (each acknowledged once stored)");
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var services = context.Services;
            // First, so a missing dead-letter key is named before anything connects.
            var ingestor = services.GetRequiredService<FailureIngestor>();
            await AdminHost.EnsureIndexesAsync(services, ct);
            var connection = await services.GetRequiredService<BrokerConnection>().GetAsync("vocabctl", ct);
            var added = await ingestor.DrainAsync(connection, ct);
            context.OutputFor(parse).Done(new { ingested = added }, $"ingested {added}");
            return 0;
        }));
        return command;
    }

    private static Command List(CommandContext context)
    {
        var reason = new Option<string?>("--reason") { Description = "Only this Vocab-Reason" };
        var user = new Option<string?>("--user") { Description = "Only this user id" };
        var key = new Option<string?>("--key") { Description = "Only this API key id" };
        var video = new Option<string?>("--video") { Description = "Only this video id" };
        var since = new Option<string?>("--since") { Description = "Only failures in this last duration (24h, 7d) or since a date" };
        var status = new Option<string>("--status") { Description = "open, replayed, archived or all", DefaultValueFactory = _ => FailureStatus.Open };
        status.AcceptOnlyFromAmong(FailureStatus.Open, FailureStatus.Replayed, FailureStatus.Archived, "all");
        var limit = new Option<int>("--limit") { Description = "At most this many", DefaultValueFactory = _ => 100 };
        var refused = RefusedOption();
        var command = new Command("list", "List stored failures, newest first; VERIFIED says whether the worker's signature holds")
            { reason, user, key, video, since, status, limit, refused };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var services = context.Services;
            var now = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
            var filter = new FailureFilter(
                Reason: parse.GetValue(reason), UserId: parse.GetValue(user), KeyId: parse.GetValue(key), VideoId: parse.GetValue(video),
                From: parse.GetValue(since) is { } s ? Since(s, now) : null,
                Status: parse.GetValue(status) is "all" ? null : parse.GetValue(status),
                Queue: parse.GetValue(refused) ? FailureQueues.Refused : FailureQueues.Error);
            var (rows, _) = await services.GetRequiredService<FailureStore>().ListAsync(filter, Math.Clamp(parse.GetValue(limit), 1, 10_000), ct);
            context.OutputFor(parse).Table(rows.Select(f => new
            {
                f.Id, f.DeadLetterId, f.Verified, f.Unverified, Time = f.FailedAt, f.Reason, f.Status, f.Attempts, f.UserId, f.KeyId, f.TokenId, f.VideoId, f.MessageId,
            }).ToList(),
            [
                ("ID", f => f.Id), ("VERIFIED", f => f.Verified ? "yes" : "NO"), ("TIME", f => CommandOutput.Time(f.Time)),
                ("REASON", f => f.Reason), ("STATUS", f => f.Status), ("USER", f => f.UserId), ("KEY ID", f => f.KeyId), ("JTI", f => f.TokenId),
                ("VIDEO", f => f.VideoId), ("MESSAGE ID", f => f.MessageId),
            ]);
            return 0;
        }));
        return command;
    }

    private static Command Show(CommandContext context)
    {
        var id = new Argument<string>("id") { Description = "The ID from dlq list (the dead-letter id of a verified copy)" };
        var command = new Command("show", "Show one failure: verification, reason, fault, headers, body and replay history") { id, RefusedOption() };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var failure = await Find(context, parse.GetValue(id)!, ct);
            context.OutputFor(parse).Object(new
            {
                failure.Id, failure.DeadLetterId, failure.Verified, failure.Unverified, failure.Queue, failure.Status, Time = failure.FailedAt,
                failure.FirstFailedAt, failure.Attempts, failure.Reason, failure.UserId, failure.Role, failure.KeyId, failure.TokenId, failure.VideoId,
                failure.MessageId, failure.FaultType, failure.FaultMessage, failure.Headers, failure.Body, failure.BodyRemoved,
                Replays = failure.Replays.Select(r => new { r.At, r.By, r.Replayed, r.Detail }),
            },
            [
                ("id", failure.Id), ("dead letter id", failure.DeadLetterId), ("verified", failure.Verified ? "yes" : $"NO: {failure.Unverified}"),
                ("queue", failure.Queue), ("status", failure.Status), ("message id", failure.MessageId), ("time", CommandOutput.Time(failure.FailedAt)),
                ("first failed", CommandOutput.Time(failure.FirstFailedAt)), ("attempts", failure.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("reason", failure.Reason), ("user", failure.UserId), ("role", failure.Role), ("key id", failure.KeyId), ("jti", failure.TokenId),
                ("video", failure.VideoId), ("fault", $"{failure.FaultType}: {failure.FaultMessage}"),
                .. failure.Headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase).Select(h => ($"header {h.Key}", (string?)h.Value)),
                ("body", failure.BodyRemoved is { } removed ? $"(removed: {removed})" : failure.Body),
                .. failure.Replays.Select(r => ("replay", (string?)$"{CommandOutput.Time(r.At)} by {r.By}: {(r.Replayed ? "published" : "refused")} {r.Detail}")),
            ]);
            return 0;
        }));
        return command;
    }

    private static Command Replay(CommandContext context)
    {
        var id = new Argument<string?>("id") { Arity = ArgumentArity.ZeroOrOne, Description = "The ID from dlq list" };
        var reason = new Option<string?>("--reason") { Description = "Every open failure with this Vocab-Reason" };
        var all = new Option<bool>("--all") { Description = "Every open failure" };
        var tokenLifetime = new Option<string>("--token-ttl") { Description = "Lifetime of the replay's credential", DefaultValueFactory = _ => "1h" };
        var command = new Command("replay", "Send failures back to the worker at Ops:ReplaysPerSecond (verified copies only; never credential failures)")
            { id, reason, all, tokenLifetime };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var one = parse.GetValue(id);
            var byReason = parse.GetValue(reason);
            var everything = parse.GetValue(all);
            if ((one is null ? 0 : 1) + (byReason is null ? 0 : 1) + (everything ? 1 : 0) != 1)
                throw new ArgumentException("say which failures: an id, --reason <code> or --all");
            var lifetime = Durations.ParseDuration(parse.GetValue(tokenLifetime)!, "--token-ttl");
            var services = context.Services;
            var store = services.GetRequiredService<FailureStore>();
            IReadOnlyList<string> ids = one is not null
                ? [(await Find(context, one, ct)).Id]
                : await store.IdsAsync(new FailureFilter(Reason: byReason, Queue: FailureQueues.Error), int.MaxValue, ct);
            var outcome = await services.GetRequiredService<FailureReplayer>().ReplayAsync(ids, Operator, lifetime, ct);
            foreach (var (refusedId, _, why) in outcome.Refused)
                await context.Error.WriteLineAsync($"not replayed {refusedId}: {why}");
            await services.GetRequiredService<AuditLog>().WriteAsync(Operator, "replay", outcome.Replayed.Count,
                $"{(one ?? (byReason is not null ? $"reason {byReason}" : "all"))}: replayed {outcome.Replayed.Count}, refused {outcome.Refused.Count}", ct);
            context.OutputFor(parse).Done(
                new { replayed = outcome.Replayed.Count, replayedIds = outcome.Replayed, refused = outcome.Refused.Select(r => new { id = r.Id, deadLetterId = r.DeadLetterId, reason = r.Why }) },
                $"replayed {outcome.Replayed.Count}, refused {outcome.Refused.Count}");
            return one is not null && outcome.Replayed.Count == 0 ? 1 : 0;
        }));
        return command;
    }

    private static Command Purge(CommandContext context)
    {
        var id = new Argument<string?>("id") { Arity = ArgumentArity.ZeroOrOne, Description = "The ID from dlq list" };
        var reason = new Option<string?>("--reason") { Description = "Every failure with this Vocab-Reason" };
        var all = new Option<bool>("--all") { Description = "Every failure" };
        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation" };
        var refused = RefusedOption();
        var command = new Command("purge", "Delete stored failures for good") { id, reason, all, yes, refused };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var one = parse.GetValue(id);
            var byReason = parse.GetValue(reason);
            var everything = parse.GetValue(all);
            if ((one is null ? 0 : 1) + (byReason is null ? 0 : 1) + (everything ? 1 : 0) != 1)
                throw new ArgumentException("say which failures: an id, --reason <code> or --all");
            var services = context.Services;
            var store = services.GetRequiredService<FailureStore>();
            var filter = new FailureFilter(Reason: byReason, Status: null, Queue: parse.GetValue(refused) ? FailureQueues.Refused : FailureQueues.Error);
            var target = one is not null ? await Find(context, one, ct) : null;
            if (!parse.GetValue(yes))
            {
                var what = target is not null ? $"failure '{target.Id}'" : $"{await store.CountAsync(filter, ct)} {(byReason is null ? "" : $"'{byReason}' ")}failures";
                await context.Out.WriteAsync($"Delete {what} from the failure store for good? [y/N] ");
                var answer = (await context.Input.ReadLineAsync(ct))?.Trim();
                if (!string.Equals(answer, "y", StringComparison.OrdinalIgnoreCase) && !string.Equals(answer, "yes", StringComparison.OrdinalIgnoreCase))
                {
                    await context.Error.WriteLineAsync("vocabctl: purge cancelled");
                    return 1;
                }
            }
            var purged = target is not null ? await store.PurgeAsync([target.Id], ct) : await store.PurgeAsync(filter, ct);
            await services.GetRequiredService<AuditLog>().WriteAsync(Operator, "purge", purged,
                target?.Id ?? (byReason is not null ? $"reason {byReason}" : "all") + $" on {filter.Queue}", ct);
            context.OutputFor(parse).Done(new { purged }, $"purged {purged}");
            return target is not null && purged == 0 ? 1 : 0;
        }));
        return command;
    }

    // By the store's id, else the dead-letter id (the verified copy first).
    private static async Task<FailureDocument> Find(CommandContext context, string id, CancellationToken cancellationToken)
    {
        var store = context.Services.GetRequiredService<FailureStore>();
        if (await store.FindAsync(id, cancellationToken) is { } failure)
            return failure;
        var byMessage = await store.Collection.Find(Builders<FailureDocument>.Filter.Eq(f => f.MessageId, id)).AnyAsync(cancellationToken);
        throw new InvalidOperationException(byMessage
            ? $"'{id}' is a message id; dlq takes the ID from dlq list (the DEAD LETTER ID of a verified copy)"
            : $"no failure '{id}' in the store (run dlq ingest to take in what waits on the queues)");
    }

    private static DateTime Since(string value, DateTime now) => Durations.ParseExpiry(value, "--since", now) is var t && t > now
        ? now - Durations.ParseDuration(value, "--since")
        : t;
}
