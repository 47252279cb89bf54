using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vocab.Contracts;

namespace Vocab.Worker.Llm;

/// <summary>
/// What makes two requests the same question to the LLM: transcript (by hash), languages, maxItems, model and prompt
/// version; with <c>Llm:ReuseScope=user</c>, also the user, so only the caller's own results answer it.
/// </summary>
public static class ReuseKey
{
    public static string For(GenerateVocabulary request, string model, string promptVersion, string? scopeUserId = null)
    {
        var transcript = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.Transcript)));
        object[] parts = scopeUserId is null
            ? [transcript, request.SourceLanguage, request.TargetLanguage, request.MaxItems, model, promptVersion]
            : [transcript, request.SourceLanguage, request.TargetLanguage, request.MaxItems, model, promptVersion, scopeUserId];
        var identity = JsonSerializer.Serialize(parts);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)));
    }
}
