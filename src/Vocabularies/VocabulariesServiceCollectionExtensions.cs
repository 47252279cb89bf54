using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Vocab.Storage;

namespace Vocab.Vocabularies;

/// <summary>Registers the vocabulary store and its indexes on top of the MongoDB plumbing.</summary>
public static class VocabulariesServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddVocabularies(this IHostApplicationBuilder builder)
    {
        builder.AddVocabStorage();
        builder.Services.TryAddSingleton<VocabularyStore>();
        builder.Services.TryAddSingleton<RequestTokenEstimator>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IMongoIndexSetup, VocabularyIndexes>());
        return builder;
    }
}
