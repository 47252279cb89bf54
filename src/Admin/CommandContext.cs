using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Vocab.Admin.Output;

namespace Vocab.Admin;

/// <summary>What every command needs: the services (built on first use), the console streams and the --json switch.</summary>
public sealed class CommandContext(Func<IHost> buildHost, TextWriter output, TextWriter error, TextReader input) : IDisposable
{
    private IHost? _host;

    /// <summary>The global <c>--json</c> option.</summary>
    public static Option<bool> JsonOption { get; } = new("--json") { Description = "Write JSON for scripts instead of tables", Recursive = true };

    public IServiceProvider Services => (_host ??= buildHost()).Services;

    public TextWriter Error => error;

    public TextReader Input => input;

    public TextWriter Out => output;

    public CommandOutput OutputFor(ParseResult parse) => new(output, parse.GetValue(JsonOption));

    /// <summary>Runs a command body: a failure becomes one line on stderr and exit code 1.</summary>
    public Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            try
            {
                return await body(parse, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await error.WriteLineAsync($"vocabctl: {OneLine(e)}");
                return 1;
            }
        };

    private static string OneLine(Exception e)
    {
        var inner = e is Microsoft.Extensions.Options.OptionsValidationException ? e : e.GetBaseException();
        return inner.Message.ReplaceLineEndings(" ");
    }

    public void Dispose() => _host?.Dispose();
}
