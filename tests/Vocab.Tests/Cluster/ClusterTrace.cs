using Vocab.TestSupport;

namespace Vocab.Tests.Cluster;

/// <summary>
/// Timestamped progress lines of the cluster tests in .services/cluster-trace.txt, which scripts/test-cluster.sh prints
/// when a test fails or is stopped for hanging: what a run was doing when it stopped is otherwise lost with the process.
/// </summary>
public static class ClusterTrace
{
    private static readonly Lock Gate = new();

    public static string FilePath => RepositoryFiles.PathOf(".services/cluster-trace.txt");

    public static void Write(string line)
    {
        lock (Gate)
            File.AppendAllLines(FilePath, [$"{DateTime.UtcNow:HH:mm:ss.fff} {line}"]);
    }
}
