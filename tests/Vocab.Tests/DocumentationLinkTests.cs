using System.Text.RegularExpressions;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>Every relative link of README.md and docs/*.md leads to a file of the repository, and to a heading of it when it names one.</summary>
public sealed partial class DocumentationLinkTests
{
    public static TheoryData<string> Documents()
    {
        var root = Path.GetDirectoryName(RepositoryFiles.PathOf("Vocab.sln"))!;
        var documents = new TheoryData<string> { "README.md" };
        foreach (var path in Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal))
            documents.Add(Path.GetRelativePath(root, path));
        return documents;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void RelativeLinks_LeadToAFileAndHeading(string document)
    {
        var path = RepositoryFiles.PathOf(document);
        var broken = new List<string>();
        foreach (Match link in Link().Matches(WithoutCode(File.ReadAllText(path))))
        {
            var target = link.Groups["target"].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                continue;
            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var file = hash < 0 ? target : target[..hash];
            var targetPath = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, file));
            if (!File.Exists(targetPath) && !Directory.Exists(targetPath))
                broken.Add($"{target}: no such file");
            else if (hash >= 0 && !Anchors(targetPath).Contains(target[(hash + 1)..]))
                broken.Add($"{target}: no such heading");
        }
        Assert.True(broken.Count == 0, $"{document}: {string.Join("; ", broken)}");
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.</summary>
    private static HashSet<string> Anchors(string path) =>
        Heading().Matches(Fence().Replace(File.ReadAllText(path), ""))
            .Select(m => Regex.Replace(m.Groups["title"].Value.Trim().ToLowerInvariant(), @"[^\p{L}\p{Nd} _-]", "").Replace(' ', '-'))
            .ToHashSet(StringComparer.Ordinal);

    private static string WithoutCode(string markdown) => InlineCode().Replace(Fence().Replace(markdown, ""), "");

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6} (?<title>.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex("^```.*?^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex Fence();

    [GeneratedRegex("`[^`\n]*`")]
    private static partial Regex InlineCode();
}
