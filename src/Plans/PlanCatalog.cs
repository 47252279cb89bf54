using Microsoft.Extensions.Configuration;

namespace Vocab.Plans;

/// <summary>
/// The plans (<c>Plans:&lt;name&gt;</c>) and which role gets which (<c>Plans:RoleMap:&lt;role&gt;</c>). Shipped defaults:
/// user → free, premium → premium, admin → unlimited; configured values override them field by field.
/// </summary>
public sealed class PlanCatalog
{
    private const string RoleMapKey = "RoleMap";
    private readonly Dictionary<string, Plan> _plans;
    private readonly Dictionary<string, string> _roleMap;

    public PlanCatalog(IConfiguration configuration)
    {
        var section = configuration.GetSection("Plans");
        var plans = new Dictionary<string, PlanOptions>(StringComparer.Ordinal)
        {
            ["free"] = new() { RequestsPerMinute = 10, MonthlyRequests = 200, MonthlyTokens = 400_000, MaxItems = 20 },
            ["premium"] = new() { RequestsPerMinute = 60, MonthlyRequests = 10_000, MonthlyTokens = 20_000_000, MaxItems = 100 },
            ["unlimited"] = new() { MaxItems = 100 },
        };
        foreach (var child in section.GetChildren().Where(c => c.Key != RoleMapKey))
        {
            var plan = plans.TryGetValue(child.Key, out var known) ? known : new PlanOptions();
            child.Bind(plan);
            plans[child.Key] = plan;
        }
        _plans = plans.ToDictionary(p => p.Key, p => new Plan(p.Key, p.Value), StringComparer.Ordinal);
        _roleMap = new Dictionary<string, string>(StringComparer.Ordinal) { ["user"] = "free", ["premium"] = "premium", ["admin"] = "unlimited" };
        foreach (var entry in section.GetSection(RoleMapKey).GetChildren())
            _roleMap[entry.Key] = entry.Value ?? "";
        var missing = _roleMap.Where(r => !_plans.ContainsKey(r.Value)).Select(r => $"Plans:RoleMap:{r.Key} names plan '{r.Value}', which is not defined").ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException(string.Join("; ", missing));
    }

    /// <summary>Every plan.</summary>
    public IReadOnlyCollection<Plan> All => _plans.Values;

    /// <summary>Which role gets which plan.</summary>
    public IReadOnlyDictionary<string, string> RoleMap => _roleMap;

    /// <summary>The role's plan; null for a role no plan is mapped to (refused, never a default).</summary>
    public Plan? ForRole(string role) => _roleMap.TryGetValue(role, out var name) && _plans.TryGetValue(name, out var plan) ? plan : null;
}
