using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// The README's Python (pika) and Node (amqplib) publisher recipes, run as written against the broker's AMQPS listener
/// with the local CA, on the publisher account rabbitmq/definitions.json declares: each gets its vocabulary back from the
/// real worker on its own account.
/// </summary>
public sealed partial class PublisherRecipeTests(RoleAccountFixture fixture) : IClassFixture<RoleAccountFixture>
{
    [Theory]
    [InlineData("python", "/usr/bin/python3", "recipe.py")]
    [InlineData("js", "node", "recipe.js")]
    public async Task ReadmeRecipe_OverTls_GetsItsVocabulary(string language, string interpreter, string fileName)
    {
        var (_, key) = await fixture.CreateApiKeyAsync($"recipe-{language}");
        var script = Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}-{fileName}");
        await File.WriteAllTextAsync(script, Recipe(language));
        var amqps = fixture.Accounts.AmqpsUri(RabbitMqRoleAccounts.Publisher);

        var (exitCode, output, error) = await RunAsync(interpreter, script, new Dictionary<string, string>
        {
            ["VOCAB_AMQPS_URI"] = amqps.ToString(),
            ["VOCAB_CA"] = TlsFixture.CaPath,
            ["VOCAB_API_KEY"] = key,
            ["NODE_PATH"] = Environment.GetEnvironmentVariable("VOCAB_NODE_PATH") ?? "",
        });

        Assert.True(exitCode == 0, $"{interpreter} exited {exitCode}: {error}");
        var reply = JsonDocument.Parse(output.Trim().Split('\n').Last()).RootElement;
        Assert.Equal("VocabularyGenerated", reply.GetProperty("type").GetString());
        Assert.Equal($"recipe-{language}", reply.GetProperty("body").GetProperty("userId").GetString());
        Assert.Equal(3, reply.GetProperty("body").GetProperty("items").GetArrayLength());
    }

    private static string Recipe(string language)
    {
        var readme = File.ReadAllText(RepositoryFiles.PathOf("README.md"));
        var section = readme[readme.IndexOf("## Publishing", StringComparison.Ordinal)..];
        return Fence().Matches(section).First(m => m.Groups["language"].Value == language).Groups["code"].Value;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string fileName, string script, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(fileName, [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} gave no answer in 60 s: {await error}");
        }
        return (process.ExitCode, await output, await error);
    }

    [GeneratedRegex("```(?<language>python|js)\\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fence();
}
