using System.Text.Json;
using Vocab.Admin;


namespace Vocab.Tests.Infrastructure;

/// <summary>Runs vocabctl in-process against a test worker's broker and database, capturing what it prints.</summary>
public sealed class VocabCtlRunner(WorkerFixture fixture)
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public JsonElement Json => ExitCode == 0
            ? JsonDocument.Parse(Output).RootElement
            : throw new InvalidOperationException($"vocabctl exited {ExitCode}: {Error}");

        public override string ToString() => $"exit {ExitCode}; out: {Output}; err: {Error}";
    }

    public async Task<Result> RunWithInputAsync(string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await VocabCtl.RunAsync(args, output, error, new StringReader(input), fixture.WorkerConfiguration());
        return new Result(exitCode, output.ToString(), error.ToString());
    }

    public Task<Result> RunAsync(params string[] args) => RunWithInputAsync("", args);

    /// <summary>Runs with this configuration instead of the worker's.</summary>
    public static async Task<Result> RunWithAsync(IDictionary<string, string?> configuration, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await VocabCtl.RunAsync(args, output, error, new StringReader(""), configuration);
        return new Result(exitCode, output.ToString(), error.ToString());
    }
}
