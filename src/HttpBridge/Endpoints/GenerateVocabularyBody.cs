using Vocab.Contracts;

namespace Vocab.HttpBridge.Endpoints;

/// <summary>The body of <c>POST /videos/{videoId}/vocabulary</c>.</summary>
public sealed record GenerateVocabularyBody(string? Transcript, string? SourceLanguage, string? TargetLanguage, int? MaxItems)
{
    public GenerateVocabulary ToRequest(string videoId, Guid requestId) => new()
    {
        RequestId = requestId,
        VideoId = videoId,
        Transcript = Transcript ?? "",
        SourceLanguage = SourceLanguage ?? "",
        TargetLanguage = TargetLanguage ?? "",
        MaxItems = MaxItems ?? GenerateVocabulary.DefaultMaxItems,
    };
}
