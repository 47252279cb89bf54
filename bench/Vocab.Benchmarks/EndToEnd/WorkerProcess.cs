using System.Collections.Concurrent;
using System.Diagnostics;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Vocab.TestSupport;

namespace Vocab.Benchmarks.EndToEnd;

/// <summary>
/// The production worker as its own process: <c>dotnet src/Worker/bin/Release/net10.0/Vocab.Worker.dll</c>, the build
/// <c>dotnet build Vocab.sln -c Release</c> (or this benchmark's own build) leaves there, configured only through
/// environment variables. Keeps the last lines it wrote for a failing run's message; stopped with SIGTERM, killed when it
/// does not stop in time.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private const int KeptLines = 60;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lastLines = new();
    private int _linesWritten;

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Where the build puts the worker, relative to the repository root.</summary>
    public const string RelativePath = "src/Worker/bin/Release/net10.0/Vocab.Worker.dll";

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>How many lines (log entries and their continuations) the process has written so far.</summary>
    public int LinesWritten => Volatile.Read(ref _linesWritten);

    /// <summary>What the process wrote last, oldest first.</summary>
    public string Tail => string.Join(Environment.NewLine, _lastLines);

    /// <summary>Starts the worker with exactly <paramref name="settings"/> as its configuration (names as in the environment, <c>Section__Key</c>).</summary>
    /// <param name="settings">The configuration, as environment variables.</param>
    /// <param name="dllPath">Another build of the worker (e.g. a ReadyToRun publish) instead of <see cref="RelativePath"/>; its folder is the content root.</param>
    public static WorkerProcess Start(IReadOnlyDictionary<string, string> settings, string? dllPath = null)
    {
        var dll = dllPath is null ? RepositoryFiles.PathOf(RelativePath) : Path.GetFullPath(dllPath);
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{RelativePath} is missing: build first (dotnet build Vocab.sln -c Release).", dll);
        var directory = Path.GetDirectoryName(dll)!;
        // The working directory is the content root: appsettings.json and appsettings.Production.json are read from it.
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory, UseShellExecute = false,
        };
        // Configuration comes from these settings only, not from whatever this shell exported (Section__Key names).
        foreach (var inherited in start.Environment.Keys.Where(k => k.Contains("__", StringComparison.Ordinal) && !k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(inherited);
        foreach (var (name, value) in settings)
            start.Environment[name] = value;
        var worker = new WorkerProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
        worker._process.OutputDataReceived += (_, e) => worker.Keep(e.Data);
        worker._process.ErrorDataReceived += (_, e) => worker.Keep(e.Data);
        worker._process.BeginOutputReadLine();
        worker._process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>User + system CPU time the process has used so far (from /proc/&lt;pid&gt;/stat).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// User + system CPU time so far of each live thread whose name starts with one of <paramref name="threadNamePrefixes"/>,
    /// by thread id (/proc/&lt;pid&gt;/task/*/comm and stat, in clock ticks of 10 ms). The runtime names its background tiered
    /// compiler ".NET Tiered Com…" (it ends when idle and a new one starts with the next work) and its GC threads
    /// ".NET Server GC" / ".NET BGC".
    /// </summary>
    public Dictionary<int, long> ThreadTicks(params string[] threadNamePrefixes)
    {
        var ticks = new Dictionary<int, long>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{Id}/task"))
            {
                try
                {
                    var name = File.ReadAllText(Path.Combine(task, "comm"));
                    if (!threadNamePrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
                        continue;
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    // After the name in parentheses (which may hold spaces): state is field 3, utime 14, stime 15.
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    ticks[int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture)] =
                        long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // The thread ended while being read.
                }
            }
        }
        catch (IOException)
        {
            // The process ended.
        }
        return ticks;
    }

    /// <summary>The process's resident set now, in MB.</summary>
    public double WorkingSetMb
    {
        get
        {
            _process.Refresh();
            return _process.WorkingSet64 / (1024.0 * 1024);
        }
    }

    /// <summary>
    /// Waits until <paramref name="queue"/> has a consumer, asked of the broker by a passive declare (exact at once, unlike
    /// the management API's statistics); fails with the worker's last lines when it exits or the time runs out.
    /// </summary>
    public async Task WaitUntilConsumingAsync(IConnection connection, string queue, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The worker (pid {Id}) exited with code {_process.ExitCode} before consuming {queue}:\n{Tail}");
            try
            {
                await using var channel = await connection.CreateChannelAsync();
                if ((await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount > 0)
                    return;
            }
            catch (OperationInterruptedException)
            {
                // The queue is not declared yet: the channel is closed by the broker; try again on a new one.
            }
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"The worker (pid {Id}) did not consume {queue} within {timeout.TotalSeconds:0} s:\n{Tail}");
            await Task.Delay(100);
        }
    }

    /// <summary>SIGTERM, as a container stop or Ctrl-C sends it; SIGKILL when it has not exited within <paramref name="grace"/>. True when it stopped by itself.</summary>
    public async Task<bool> StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
            return true;
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            await kill!.WaitForExitAsync();
        try
        {
            await _process.WaitForExitAsync(new CancellationTokenSource(grace).Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        Interlocked.Increment(ref _linesWritten);
        _lastLines.Enqueue(line);
        while (_lastLines.Count > KeptLines)
            _lastLines.TryDequeue(out _);
    }
}
