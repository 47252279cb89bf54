using Vocab.Failures;
using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Admin.Output;
using Vocab.Authentication;
using Vocab.Authentication.Jwt;

namespace Vocab.Admin.Commands;

/// <summary><c>vocabctl tokens revoke|revoke-user|issue</c>.</summary>
public static class TokensCommand
{
    private static readonly TimeSpan DefaultBlacklistLifetime = TimeSpan.FromDays(30);

    public static Command Create(CommandContext context)
    {
        var tokens = new Command("tokens", "Revoke JWTs, and issue development tokens");
        tokens.Subcommands.Add(Revoke(context));
        tokens.Subcommands.Add(RevokeUser(context));
        tokens.Subcommands.Add(Issue(context));
        return tokens;
    }

    private static Command Revoke(CommandContext context)
    {
        var jti = new Argument<string>("jti") { Description = "The token's jti" };
        var expires = new Option<string?>("--expires")
        {
            Description = "When the token expires anyway (date or duration); the blacklist entry is removed then. Default 30d",
        };
        var command = new Command("revoke", "Blacklist one token by its jti") { jti, expires };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var services = context.Services;
            await AdminHost.EnsureIndexesAsync(services, ct);
            var now = DateTime.UtcNow;
            var until = parse.GetValue(expires) is { } e ? Durations.ParseExpiry(e, "--expires", now) : now + DefaultBlacklistLifetime;
            // No accepted token outlives Jwt:MaxLifetime (plus skew) from now, so the entry never lapses before the token.
            var jwt = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<JwtOptions>>().Value;
            if (until < now + jwt.MaxLifetime + jwt.ClockSkew)
                until = now + jwt.MaxLifetime + jwt.ClockSkew;
            var id = parse.GetValue(jti)!;
            await services.GetRequiredService<TokenBlacklist>().RevokeAsync(id, until, now, ct);
            context.OutputFor(parse).Done(new { jti = id, revokedUntil = until }, $"revoked token {id} until {CommandOutput.Time(until)}");
            return 0;
        }));
        return command;
    }

    private static Command RevokeUser(CommandContext context)
    {
        var user = new Argument<string>("userId") { Description = "The user whose tokens to revoke" };
        var command = new Command("revoke-user", "Refuse every token of the user issued before now (logout everywhere)") { user };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var now = DateTime.UtcNow;
            var id = parse.GetValue(user)!;
            await context.Services.GetRequiredService<TokenBlacklist>().RevokeUserAsync(id, now, ct);
            context.OutputFor(parse).Done(new { userId = id, notBefore = now }, $"tokens of {id} issued before {CommandOutput.Time(now)} are refused");
            return 0;
        }));
        return command;
    }

    private static Command Issue(CommandContext context)
    {
        var user = new Option<string>("--user") { Description = "The token's subject", Required = true };
        var role = new Option<string>("--role") { Description = "user, premium or admin", DefaultValueFactory = _ => Roles.User };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var ttl = new Option<string>("--ttl") { Description = "Lifetime, e.g. 1h", DefaultValueFactory = _ => "1h" };
        var command = new Command("issue", "Development only: sign a token with the configured HS256 key") { user, role, ttl };
        command.SetAction(context.Run((parse, _) =>
        {
            var issuer = context.Services.GetRequiredService<JwtTokenIssuer>();
            if (!issuer.CanIssue)
                throw new InvalidOperationException("no HS256 signing secret is configured (Jwt:Keys:N:Secret); refusing to issue a token");
            var (token, tokenId, expiresAt) = issuer.Issue(parse.GetValue(user)!, parse.GetValue(role)!,
                Durations.ParseDuration(parse.GetValue(ttl)!, "--ttl"));
            context.OutputFor(parse).Object(new { token, jti = tokenId, expiresAt },
                [("token", token), ("jti", tokenId), ("expiresAt", CommandOutput.Time(expiresAt))]);
            return Task.FromResult(0);
        }));
        return command;
    }
}
