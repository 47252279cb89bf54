using System.CommandLine;
using Vocab.Admin.Commands;

namespace Vocab.Admin;

/// <summary>The vocabctl command line: keys, tokens and the dead-letter queue.</summary>
public static class VocabCtl
{
    /// <summary>Parses and runs one invocation; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TextReader input,
        IDictionary<string, string?>? configurationOverrides = null)
    {
        using var context = new CommandContext(() => AdminHost.Build(configurationOverrides), output, error, input);
        var root = new RootCommand("vocabctl: manage Vocab's API keys, token revocations, dead-letter queue, plans and usage")
        {
            KeysCommand.Create(context),
            TokensCommand.Create(context),
            DlqCommand.Create(context),
            PlansCommand.Plans(context),
            PlansCommand.Usage(context),
        };
        root.Options.Add(CommandContext.JsonOption);
        var parse = root.Parse(args);
        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
