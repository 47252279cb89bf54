using System.Collections.Concurrent;
using System.Diagnostics;
using Vocab.TestSupport;

namespace Vocab.Tests.Infrastructure;

/// <summary>
/// A bash script run as a user would run it from the repository root, in a session (and process group) of its own so
/// that everything it starts (dotnet run, the apps) ends with it. Output is collected as it comes.
/// </summary>
public sealed class ShellSession : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _standardOutput = new();

    private ShellSession(Process process)
    {
        _process = process;
    }

    /// <summary>stdout and stderr so far, interleaved in arrival order.</summary>
    public string Output => string.Join('\n', _lines);

    /// <summary>stdout alone.</summary>
    public string StandardOutput => string.Join('\n', _standardOutput);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static ShellSession Start(string script, IReadOnlyDictionary<string, string?> environment)
    {
        // setsid: the child is not a group leader, so setsid(2) succeeds without forking and the pid is the group id.
        var start = new ProcessStartInfo("setsid", ["bash", "-c", script])
        {
            WorkingDirectory = Path.GetDirectoryName(RepositoryFiles.PathOf("Vocab.sln"))!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            if (value is not null)
                start.Environment[name] = value;
        }
        var process = new Process { StartInfo = start };
        var session = new ShellSession(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            session._lines.Enqueue(e.Data);
            session._standardOutput.Enqueue(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) session._lines.Enqueue(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return session;
    }

    /// <summary>Waits for the script to end; past <paramref name="limit"/> its process group is stopped and this throws.</summary>
    public async Task<int> WaitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await StopAsync();
            throw new TimeoutException($"the script did not end within {limit}; output:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>SIGTERM to the whole process group (what Ctrl-C in a terminal reaches), then SIGKILL to what is left.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited && !GroupAlive())
            return;
        Signal("TERM");
        for (var i = 0; i < 60 && GroupAlive(); i++)
            await Task.Delay(500);
        if (GroupAlive())
            Signal("KILL");
        using var drained = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(drained.Token);
        }
        catch (OperationCanceledException)
        {
            // A process outside the group still holds the output pipe; the group itself is gone.
        }
    }

    private bool GroupAlive()
    {
        using var probe = Process.Start(new ProcessStartInfo("kill", ["-0", "--", $"-{_process.Id}"])
        {
            RedirectStandardError = true,
        })!;
        probe.WaitForExit();
        return probe.ExitCode == 0;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", "--", $"-{_process.Id}"])
        {
            RedirectStandardError = true,
        })!;
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }
}
