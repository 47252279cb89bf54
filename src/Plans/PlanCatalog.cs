using Microsoft.Extensions.Options;

namespace Vocab.Plans;

/// <summary>The validated plans (<see cref="PlansOptions"/>) and which role gets which.</summary>
public sealed class PlanCatalog(IOptions<PlansOptions> options)
{
    private readonly Dictionary<string, Plan> _plans = options.Value.Plans.ToDictionary(p => p.Key, p => new Plan(p.Key, p.Value), StringComparer.Ordinal);

    /// <summary>Every plan.</summary>
    public IReadOnlyCollection<Plan> All => _plans.Values;

    /// <summary>Which role gets which plan.</summary>
    public IReadOnlyDictionary<string, string> RoleMap => options.Value.RoleMap;

    /// <summary>The role's plan; null for a role no plan is mapped to (refused, never a default).</summary>
    public Plan? ForRole(string role) => options.Value.RoleMap.TryGetValue(role, out var name) && _plans.TryGetValue(name, out var plan) ? plan : null;
}
