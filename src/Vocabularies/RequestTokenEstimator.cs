using Microsoft.ML.Tokenizers;
using Vocab.Contracts;

namespace Vocab.Vocabularies;

/// <summary>
/// The tokens a request may cost, reserved against the caller's monthly quota before the LLM is called: its prompt as
/// the model reads it (system and user messages, counted with the o200k_base tokenizer of current OpenAI models; CJK and
/// emoji cost what they really cost, not a length / 4 guess) plus a bound per asked-for item for the answer.
/// </summary>
public sealed class RequestTokenEstimator
{
    /// <summary>What one vocabulary item of the answer may cost: word, meaning, part of speech, example and JSON framing.</summary>
    public const int OutputTokensPerItem = 120;

    /// <summary>Chat framing around the two messages and the answer's outer JSON.</summary>
    public const int FramingTokens = 32;

    // Loading the vocabulary file takes a moment and its tokenizer is thread-safe: one per process.
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<int> SystemTokens = new(() => Tokenizer.Value.CountTokens(VocabularyPrompt.System));

    /// <summary>Prompt tokens plus the answer's bound.</summary>
    public long Estimate(GenerateVocabulary request) =>
        FramingTokens + SystemTokens.Value + Tokenizer.Value.CountTokens(VocabularyPrompt.User(request)) + (long)request.MaxItems * OutputTokensPerItem;
}
