using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Vocab.Storage;

namespace Vocab.Plans;

/// <summary>Registers plans and the quota ledger (rates, quotas, and the claims of requests in flight).</summary>
public static class PlansServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddVocabPlans(this IHostApplicationBuilder builder)
    {
        builder.AddVocabStorage();
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<PlansOptions>()
            .Configure<Microsoft.Extensions.Configuration.IConfiguration>((options, configuration) =>
                PlansOptions.Bind(configuration.GetSection(PlansOptions.SectionName), options))
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<PlansOptions>, PlansOptionsValidator>());
        builder.Services.TryAddSingleton<PlanCatalog>();
        builder.Services.TryAddSingleton<QuotaLedger>();
        builder.Services.TryAddSingleton<PlanAdmission>();
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<UsageMetrics>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IMongoIndexSetup, PlansIndexes>());
        return builder;
    }
}
