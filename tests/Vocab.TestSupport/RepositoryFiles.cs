namespace Vocab.TestSupport;

/// <summary>Files of this repository (rabbitmq/, docker-compose.yml), found from the test's output folder.</summary>
public static class RepositoryFiles
{
    public static string PathOf(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vocab.sln")))
                return Path.Combine(dir.FullName, relativePath);
        }
        throw new FileNotFoundException("Vocab.sln not found above the test output folder.");
    }
}
