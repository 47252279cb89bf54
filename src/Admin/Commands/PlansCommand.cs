using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Vocab.Authentication;
using Vocab.Plans;

namespace Vocab.Admin.Commands;

/// <summary><c>vocabctl plans</c> and <c>vocabctl usage show|list</c>.</summary>
public static class PlansCommand
{
    public static Command Plans(CommandContext context)
    {
        var command = new Command("plans", "The plans, their limits, and which role gets which");
        command.SetAction(context.Run((parse, _) =>
        {
            var catalog = context.Services.GetRequiredService<PlanCatalog>();
            context.OutputFor(parse).Table(catalog.All.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new
            {
                p.Name, Roles = string.Join(",", catalog.RoleMap.Where(r => r.Value == p.Name).Select(r => r.Key)),
                p.Limits.RequestsPerMinute, p.Limits.MonthlyRequests, p.Limits.MonthlyTokens, p.Limits.MaxItems, p.Limits.Model,
            }).ToList(),
            [
                ("PLAN", r => r.Name), ("ROLES", r => r.Roles), ("PER WINDOW", r => Limit(r.RequestsPerMinute)),
                ("REQUESTS/MONTH", r => Limit(r.MonthlyRequests)), ("TOKENS/MONTH", r => Limit(r.MonthlyTokens)),
                ("MAX ITEMS", r => r.MaxItems.ToString(CultureInfo.InvariantCulture)), ("MODEL", r => r.Model ?? "(Llm:Model)"),
            ]);
            return Task.FromResult(0);
        }));
        return command;
    }

    public static Command Usage(CommandContext context)
    {
        var usage = new Command("usage", "Requests and tokens used per user and month (UTC)");
        usage.Subcommands.Add(Show(context));
        usage.Subcommands.Add(List(context));
        return usage;
    }

    private static Command Show(CommandContext context)
    {
        var user = new Option<string>("--user") { Description = "The user", Required = true };
        var month = new Option<string?>("--month") { Description = "yyyy-MM (default: this month)" };
        var role = new Option<string>("--role") { Description = "The role whose plan gives the limits", DefaultValueFactory = _ => Roles.User };
        var command = new Command("show", "One user's usage, plan and what is left") { user, month, role };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var services = context.Services;
            var m = parse.GetValue(month) ?? UsageMonth.Of(DateTimeOffset.UtcNow);
            var u = await services.GetRequiredService<QuotaLedger>().GetAsync(parse.GetValue(user)!, m, ct);
            var plan = services.GetRequiredService<PlanCatalog>().ForRole(parse.GetValue(role)!);
            var remaining = RemainingQuota.Of(plan, u);
            var view = new
            {
                userId = u.UserId, month = m, plan = plan?.Name, requests = u.Requests, tokensUsed = u.UsedTokens, tokensReserved = u.ReservedTokens,
                remainingRequests = remaining.Requests, remainingTokens = remaining.Tokens,
            };
            context.OutputFor(parse).Object(view,
            [
                ("user", view.userId), ("month", view.month), ("plan", view.plan), ("requests", view.requests.ToString(CultureInfo.InvariantCulture)),
                ("tokens used", view.tokensUsed.ToString(CultureInfo.InvariantCulture)), ("tokens reserved", view.tokensReserved.ToString(CultureInfo.InvariantCulture)),
                ("requests left", Limit(view.remainingRequests)), ("tokens left", Limit(view.remainingTokens)),
            ]);
            return 0;
        }));
        return command;
    }

    private static Command List(CommandContext context)
    {
        var month = new Option<string?>("--month") { Description = "yyyy-MM (default: this month)" };
        var command = new Command("list", "Every user's usage in a month") { month };
        command.SetAction(context.Run(async (parse, ct) =>
        {
            var m = parse.GetValue(month) ?? UsageMonth.Of(DateTimeOffset.UtcNow);
            var rows = await context.Services.GetRequiredService<QuotaLedger>().ListAsync(m, ct);
            context.OutputFor(parse).Table(rows.Select(u => new { u.UserId, u.Month, u.Plan, u.Requests, u.UsedTokens, u.ReservedTokens }).ToList(),
            [
                ("USER", r => r.UserId), ("MONTH", r => r.Month), ("PLAN", r => r.Plan), ("REQUESTS", r => r.Requests.ToString(CultureInfo.InvariantCulture)),
                ("TOKENS USED", r => r.UsedTokens.ToString(CultureInfo.InvariantCulture)), ("RESERVED", r => r.ReservedTokens.ToString(CultureInfo.InvariantCulture)),
            ]);
            return 0;
        }));
        return command;
    }

    private static string Limit(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "unlimited";
}
