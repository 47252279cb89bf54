using System.Text.Json;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// The domain libraries send no message, so no bus or broker library reaches them, directly or through another project:
/// read from the dependency graph NuGet resolved for each (obj/project.assets.json).
/// </summary>
public sealed class ProjectDependencyTests
{
    [Theory]
    [InlineData("Security")]
    [InlineData("Storage")]
    [InlineData("Authentication")]
    [InlineData("Plans")]
    [InlineData("Vocabularies")]
    public void DomainLibrary_ResolvedDependencies_HoldNoMessagingLibrary(string project)
    {
        var libraries = ResolvedLibraries(project);

        Assert.NotEmpty(libraries);
        Assert.DoesNotContain(libraries, l =>
            l.StartsWith("MassTransit", StringComparison.OrdinalIgnoreCase) || l.StartsWith("RabbitMQ", StringComparison.OrdinalIgnoreCase) ||
            l.Equals("Vocab.Messaging", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("Worker")]
    [InlineData("HttpBridge")]
    [InlineData("Admin")]
    public void App_ResolvedDependencies_UseTheSharedMessagingConventions(string project) =>
        Assert.Contains("Vocab.Messaging", ResolvedLibraries(project));

    private static List<string> ResolvedLibraries(string project)
    {
        using var assets = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.PathOf($"src/{project}/obj/project.assets.json")));
        return assets.RootElement.GetProperty("targets").EnumerateObject()
            .SelectMany(target => target.Value.EnumerateObject())
            .Select(library => library.Name.Split('/')[0])
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
    }
}
