using System.Collections.Concurrent;
using System.Diagnostics;
using Vocab.TestSupport;

namespace Vocab.Tests.Cluster;

/// <summary>
/// A worker as its own process (the production entry point, built by <c>dotnet build</c>), configured through environment
/// variables. Keeps the last lines it wrote, for a failing test's message.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    private const int KeptLines = 200;
    private readonly Process _process;
    private const int KeptComplaints = 150;
    private readonly ConcurrentQueue<string> _lastLines = new();
    private readonly ConcurrentQueue<string> _complaints = new();
    private bool _complaining;

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The first warning and error lines it wrote (with what followed each, such as a stack trace), oldest first.</summary>
    public string Complaints => string.Join(Environment.NewLine, _complaints);

    /// <summary>What the process wrote last, oldest first.</summary>
    public string Tail => string.Join(Environment.NewLine, _lastLines);

    public static WorkerProcess Start(IReadOnlyDictionary<string, string?> configuration)
    {
        var directory = RepositoryFiles.PathOf("src/Worker/bin/Release/net10.0");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(directory, "Vocab.Worker.dll")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory,
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        foreach (var (name, value) in configuration)
            start.Environment[name.Replace(":", "__", StringComparison.Ordinal)] = value;
        var worker = new WorkerProcess(Process.Start(start)!);
        worker._process.OutputDataReceived += (_, e) => worker.Keep(e.Data);
        worker._process.ErrorDataReceived += (_, e) => worker.Keep(e.Data);
        worker._process.BeginOutputReadLine();
        worker._process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>SIGKILL: no graceful stop, so its unacknowledged messages go back to the queue.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        _lastLines.Enqueue(line);
        // Serilog's console lines start "[HH:mm:ss LVL]"; a line without that prefix continues the entry before it.
        var isEntry = line.StartsWith('[');
        if (isEntry)
            _complaining = line.Contains(" WRN]", StringComparison.Ordinal) || line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" FTL]", StringComparison.Ordinal);
        if (_complaining && _complaints.Count < KeptComplaints)
            _complaints.Enqueue(line);
        while (_lastLines.Count > KeptLines)
            _lastLines.TryDequeue(out _);
    }
}
