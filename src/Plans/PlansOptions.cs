using Microsoft.Extensions.Configuration;

namespace Vocab.Plans;

/// <summary>
/// <c>Plans:*</c>: the plans by name (<c>Plans:&lt;name&gt;:*</c>), which role gets which (<c>Plans:RoleMap:&lt;role&gt;</c>)
/// and how long the records of failed requests are kept (<c>Plans:LedgerRetention</c>). Shipped defaults: free, premium
/// and unlimited, user → free, premium → premium, admin → unlimited; configured values override them field by field.
/// </summary>
public sealed class PlansOptions
{
    public const string SectionName = "Plans";
    public const string RoleMapKey = "RoleMap";
    public const string LedgerRetentionKey = "LedgerRetention";

    /// <summary>Plans by name.</summary>
    public Dictionary<string, PlanOptions> Plans { get; } = new(StringComparer.Ordinal)
    {
        ["free"] = new() { RequestsPerMinute = 10, MonthlyRequests = 200, MonthlyTokens = 400_000, MaxItems = 20 },
        ["premium"] = new() { RequestsPerMinute = 60, MonthlyRequests = 10_000, MonthlyTokens = 20_000_000, MaxItems = 100, Weight = 3 },
        ["unlimited"] = new() { MaxItems = 100, Weight = 3 },
    };

    /// <summary>Role to plan name.</summary>
    public Dictionary<string, string> RoleMap { get; } = new(StringComparer.Ordinal)
    {
        [Authentication.Roles.User] = "free", [Authentication.Roles.Premium] = "premium", [Authentication.Roles.Admin] = "unlimited",
    };

    /// <summary>How long the record of a failed request is kept (its requestId's binding to its body and the month it was counted in), then removed by TTL.</summary>
    public TimeSpan LedgerRetention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>Reads the section over the defaults: a plan's configured fields replace only those fields.</summary>
    public static void Bind(IConfigurationSection section, PlansOptions options)
    {
        foreach (var child in section.GetChildren())
        {
            switch (child.Key)
            {
                case RoleMapKey:
                    foreach (var entry in child.GetChildren())
                        options.RoleMap[entry.Key] = entry.Value ?? "";
                    break;
                case LedgerRetentionKey:
                    options.LedgerRetention = child.Get<TimeSpan>();
                    break;
                default:
                    var plan = options.Plans.TryGetValue(child.Key, out var known) ? known : new PlanOptions();
                    child.Bind(plan, binder => binder.ErrorOnUnknownConfiguration = true);
                    options.Plans[child.Key] = plan;
                    break;
            }
        }
    }
}
