using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vocab.Contracts;

namespace Vocab.Worker.Llm;

/// <summary>What makes two requests the same question to the LLM: transcript (by hash), languages, maxItems, model and prompt version.</summary>
public static class ReuseKey
{
    public static string For(GenerateVocabulary request, string model, string promptVersion)
    {
        var transcript = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.Transcript)));
        var identity = JsonSerializer.Serialize(new object[] { transcript, request.SourceLanguage, request.TargetLanguage, request.MaxItems, model, promptVersion });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)));
    }
}
