using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Admin.Output;
using Vocab.Authentication;
using Vocab.Authentication.ApiKeys;

namespace Vocab.Admin.Commands;

/// <summary><c>vocabctl keys create|list|revoke|rotate</c>.</summary>
public static class KeysCommand
{
    public static Command Create(CommandContext context)
    {
        var keys = new Command("keys", "Issue, list, revoke and rotate API keys");
        keys.Subcommands.Add(CreateKey(context));
        keys.Subcommands.Add(List(context));
        keys.Subcommands.Add(Revoke(context));
        keys.Subcommands.Add(Rotate(context));
        return keys;
    }

    private static Command CreateKey(CommandContext context)
    {
        var user = new Option<string>("--user") { Description = "The user the key acts for", Required = true };
        var role = RoleOption();
        var expires = new Option<string?>("--expires") { Description = "A duration (30d, 12h) or a date (2027-01-31)" };
        var name = new Option<string?>("--name") { Description = "A label to recognise the key by" };
        var command = new Command("create", "Create a key and print it once; only its hash is stored") { user, role, expires, name };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var services = context.Services;
            await AdminHost.EnsureIndexesAsync(services, ct);
            var now = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
            var expiresAt = parse.GetValue(expires) is { } e ? Durations.ParseExpiry(e, "--expires", now) : (DateTime?)null;
            var (key, document) = await services.GetRequiredService<ApiKeyStore>().CreateAsync(
                parse.GetValue(user)!, parse.GetValue(role)!, now, expiresAt, parse.GetValue(name), cancellationToken: ct);
            context.OutputFor(parse).Object(
                new { keyId = document.KeyId, key, userId = document.UserId, role = document.Role, expiresAt },
                [("key", key), ("keyId", document.KeyId), ("userId", document.UserId), ("role", document.Role), ("expiresAt", CommandOutput.Time(expiresAt)),
                 ("", "Store the key now: it is not shown again.")]);
            return 0;
        }));
        return command;
    }

    private static Command List(CommandContext context)
    {
        var user = new Option<string?>("--user") { Description = "Only this user's keys" };
        var command = new Command("list", "List keys (never a secret)") { user };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var rows = await context.Services.GetRequiredService<ApiKeyStore>().ListAsync(parse.GetValue(user), ct);
            var now = DateTime.UtcNow;
            context.OutputFor(parse).Table(rows.Select(k => new
            {
                k.KeyId, k.UserId, k.Role, k.Name, Status = Status(k, now), k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RotatedFrom,
            }).ToList(),
            [
                ("KEY ID", r => r.KeyId), ("USER", r => r.UserId), ("ROLE", r => r.Role), ("STATUS", r => r.Status),
                ("NAME", r => r.Name), ("CREATED", r => CommandOutput.Time(r.CreatedAt)), ("EXPIRES", r => CommandOutput.Time(r.ExpiresAt)),
                ("LAST USED", r => CommandOutput.Time(r.LastUsedAt)),
            ]);
            return 0;
        }));
        return command;
    }

    private static Command Revoke(CommandContext context)
    {
        var keyId = new Argument<string>("keyId") { Description = "The key id (the part after vocab_)" };
        var command = new Command("revoke", "Revoke a key; queued messages carrying it are refused within the cache bound") { keyId };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var id = parse.GetValue(keyId)!;
            if (!await context.Services.GetRequiredService<ApiKeyStore>().RevokeAsync(id, DateTime.UtcNow, ct))
                throw new InvalidOperationException($"no API key with id '{id}'");
            context.OutputFor(parse).Done(new { keyId = id, revoked = true }, $"revoked {id}");
            return 0;
        }));
        return command;
    }

    private static Command Rotate(CommandContext context)
    {
        var keyId = new Argument<string>("keyId") { Description = "The key to replace" };
        var grace = new Option<string>("--grace") { Description = "How long the old key keeps working (e.g. 24h)", DefaultValueFactory = _ => "24h" };
        var command = new Command("rotate", "Issue a new key for the same user and role; the old one works until the grace period ends") { keyId, grace };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var store = context.Services.GetRequiredService<ApiKeyStore>();
            var oldId = parse.GetValue(keyId)!;
            var old = await store.FindByIdAsync(oldId, ct) ?? throw new InvalidOperationException($"no API key with id '{oldId}'");
            if (!old.Active)
                throw new InvalidOperationException($"API key '{oldId}' is revoked; create a new key instead");
            var now = DateTime.UtcNow;
            var graceEnds = now + Durations.ParseDuration(parse.GetValue(grace)!, "--grace");
            var (key, created) = await store.CreateAsync(old.UserId, old.Role, now, old.ExpiresAt, old.Name, oldId, ct);
            var newId = created.KeyId;
            var oldExpiry = old.ExpiresAt is { } e && e < graceEnds ? e : graceEnds;
            await store.ExpireAtAsync(oldId, oldExpiry, ct);
            context.OutputFor(parse).Object(
                new { keyId = newId, key, userId = old.UserId, role = old.Role, expiresAt = old.ExpiresAt, replaces = oldId, oldKeyExpiresAt = oldExpiry },
                [("key", key), ("keyId", newId), ("userId", old.UserId), ("role", old.Role), ("replaces", oldId),
                 ("old key expires", CommandOutput.Time(oldExpiry)), ("", "Store the key now: it is not shown again.")]);
            return 0;
        }));
        return command;
    }

    private static Option<string> RoleOption()
    {
        var role = new Option<string>("--role") { Description = "user, premium or admin", DefaultValueFactory = _ => Roles.User };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        return role;
    }

    private static string Status(ApiKeyDocument key, DateTime now) =>
        !key.Active ? "revoked" : key.ExpiresAt <= now ? "expired" : "active";
}
