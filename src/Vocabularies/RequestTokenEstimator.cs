using System.Runtime.CompilerServices;
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

    /// <summary>
    /// Runs of this many characters without a space are not tokenized but counted one token per character (an upper
    /// bound): byte-pair encoding of one long word costs time with the square of its length, and a hostile transcript
    /// of one 200,000-letter word must not cost the worker seconds of CPU before any plan check.
    /// </summary>
    public const int LongRun = 128;

    /// <summary>The most output tokens a request's answer may use (the LLM call is capped at it).</summary>
    public static int OutputTokens(int maxItems) => FramingTokens + maxItems * OutputTokensPerItem;

    // One message is estimated by the fair share and again by admission (and by the consumer when it admits a retry):
    // the prompt is serialised and tokenized once per request, not per caller. Keyed by the request instance (its
    // properties are init-only), held no longer than the message itself.
    private readonly ConditionalWeakTable<GenerateVocabulary, StrongBox<long>> _estimates = new();

    /// <summary>Prompt tokens plus the answer's bound.</summary>
    public long Estimate(GenerateVocabulary request) =>
        _estimates.GetValue(request, static r => new StrongBox<long>(Compute(r))).Value;

    private static long Compute(GenerateVocabulary request) =>
        FramingTokens + SystemTokens.Value + CountBounded(VocabularyPrompt.User(request)) + OutputTokens(request.MaxItems);

    private static long CountBounded(string text)
    {
        long tokens = 0;
        var start = 0;
        var run = 0;
        for (var i = 0; i < text.Length; i++)
        {
            run = char.IsWhiteSpace(text[i]) ? 0 : run + 1;
            if (run != LongRun)
                continue;
            // From the run's start to where it ends: counted, not tokenized.
            var runStart = i - LongRun + 1;
            var end = i;
            while (end < text.Length && !char.IsWhiteSpace(text[end]))
                end++;
            tokens += Tokenizer.Value.CountTokens(text.AsSpan(start, runStart - start)) + (end - runStart);
            start = end;
            i = end - 1;
            run = 0;
        }
        return tokens + Tokenizer.Value.CountTokens(text.AsSpan(start));
    }
}
