using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vocab.Contracts;

namespace Vocab.Plans;

/// <summary>
/// What a caller asked under a requestId: user, video, transcript (by digest), languages, maxItems and the plan's model.
/// The first admission stores it; the same id with another fingerprint is a different request and is refused.
/// </summary>
public static class RequestFingerprint
{
    public static string For(GenerateVocabulary request, string userId, Plan plan)
    {
        var transcript = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.Transcript)));
        var identity = JsonSerializer.SerializeToUtf8Bytes(new object[]
        {
            userId, request.VideoId, transcript, request.SourceLanguage, request.TargetLanguage, request.MaxItems, plan.Limits.Model ?? "",
        });
        return Convert.ToHexStringLower(SHA256.HashData(identity));
    }
}
