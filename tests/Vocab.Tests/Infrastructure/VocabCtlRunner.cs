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

    /// <summary>Ingests what waits on the dead-letter queues until <c>dlq list</c> shows the message with this message id; returns its row.</summary>
    public async Task<JsonElement> WaitForDeadLetterAsync(string messageId, bool refused = false)
    {
        string[] args = refused ? ["dlq", "list", "--refused", "--json"] : ["dlq", "list", "--json"];
        for (var i = 0; i < 150; i++)
        {
            var ingest = await RunAsync("dlq", "ingest");
            if (ingest.ExitCode != 0)
                throw new InvalidOperationException($"dlq ingest failed: {ingest}");
            var list = await RunAsync(args);
            if (list.ExitCode == 0 && list.Json.EnumerateArray().FirstOrDefault(r => r.GetProperty("messageId").GetString() == messageId) is
                { ValueKind: JsonValueKind.Object } row)
                return row.Clone();
            await Task.Delay(200);
        }
        throw new TimeoutException($"no dead letter of message {messageId}");
    }

    /// <summary>Runs with this configuration instead of the worker's.</summary>
    public static async Task<Result> RunWithAsync(IDictionary<string, string?> configuration, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await VocabCtl.RunAsync(args, output, error, new StringReader(""), configuration);
        return new Result(exitCode, output.ToString(), error.ToString());
    }
}
