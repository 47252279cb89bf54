using Microsoft.Extensions.Options;

namespace Vocab.Plans;

/// <summary>Refuses, at start, plan values that would mean something other than they say (a rate of 0 read as unlimited, a negative quota).</summary>
public sealed class PlansOptionsValidator : IValidateOptions<PlansOptions>
{
    public ValidateOptionsResult Validate(string? name, PlansOptions options)
    {
        var errors = new List<string>();
        foreach (var (plan, limits) in options.Plans)
        {
            var prefix = $"{PlansOptions.SectionName}:{plan}";
            if (limits.RequestsPerMinute is < 1)
                errors.Add($"{prefix}:RequestsPerMinute must be 1 or more (leave it unset for no rate limit).");
            if (limits.MonthlyRequests is < 0)
                errors.Add($"{prefix}:MonthlyRequests must be 0 or more (leave it unset for no limit).");
            if (limits.MonthlyTokens is < 0)
                errors.Add($"{prefix}:MonthlyTokens must be 0 or more (leave it unset for no limit).");
            if (limits.MaxItems is < Contracts.GenerateVocabularyRules.MinItems or > Contracts.GenerateVocabularyRules.MaxItems)
                errors.Add($"{prefix}:MaxItems must be between {Contracts.GenerateVocabularyRules.MinItems} and {Contracts.GenerateVocabularyRules.MaxItems}.");
            if (limits.Weight is < 1 or > 1_000)
                errors.Add($"{prefix}:Weight must be between 1 and 1000.");
            if (limits.Model is { } model && string.IsNullOrWhiteSpace(model))
                errors.Add($"{prefix}:Model must name a model or be left unset.");
        }
        foreach (var (role, plan) in options.RoleMap)
        {
            if (!options.Plans.ContainsKey(plan))
                errors.Add($"{PlansOptions.SectionName}:{PlansOptions.RoleMapKey}:{role} names plan '{plan}', which is not defined.");
        }
        if (options.LedgerRetention < TimeSpan.FromDays(1))
            errors.Add($"{PlansOptions.SectionName}:{PlansOptions.LedgerRetentionKey} must be at least one day.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
