using System.ClientModel;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Vocab.Contracts;

namespace Vocab.Worker.Llm;

/// <summary>Asks the chat model for a vocabulary list and turns transport failures into <see cref="LlmUnavailableException"/>.</summary>
public sealed class VocabularyGenerator
{
    /// <summary>The meter's name, for OpenTelemetry registration.</summary>
    public const string MeterName = "Vocab.Llm";

    private const string SystemPrompt =
        """
        You build vocabulary lists for language learners from video transcripts.
        Answer with JSON only, no prose and no Markdown, in exactly this shape:
        {"items":[{"word":"...","meaning":"...","partOfSpeech":"...","example":"..."}]}
        "word" is a useful word or phrase from the transcript in its language; "meaning" is its meaning in the target language;
        "partOfSpeech" is e.g. noun, verb, adjective; "example" is a short sentence using the word. Every field is non-empty.
        """;

    private readonly IChatClient _chat;
    private readonly LlmOptions _options;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _tokens;

    public VocabularyGenerator(IChatClient chat, IOptions<LlmOptions> options, IMeterFactory meters)
    {
        _chat = chat;
        _options = options.Value;
        var meter = meters.Create(MeterName);
        _latency = meter.CreateHistogram<double>("vocab.llm.duration", "s", "LLM call latency");
        _tokens = meter.CreateCounter<long>("vocab.llm.tokens", description: "Tokens used by LLM calls");
    }

    /// <summary>One LLM call; the caller's retry policy decides whether to try again.</summary>
    public async Task<GeneratedVocabulary> GenerateAsync(GenerateVocabulary request, CancellationToken cancellationToken)
    {
        var prompt = JsonSerializer.Serialize(new
        {
            sourceLanguage = request.SourceLanguage,
            targetLanguage = request.TargetLanguage,
            maxItems = request.MaxItems,
            transcript = request.Transcript,
        });
        var options = new ChatOptions { ModelId = _options.Model, Temperature = 0.2f, ResponseFormat = ChatResponseFormat.Json };

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var started = Stopwatch.GetTimestamp();
        ChatResponse response;
        try
        {
            response = await _chat.GetResponseAsync(
                [new ChatMessage(ChatRole.System, SystemPrompt), new ChatMessage(ChatRole.User, prompt)], options, timeout.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LlmUnavailableException($"The LLM did not answer within {_options.Timeout}.", e);
        }
        catch (ClientResultException e)
        {
            throw new LlmUnavailableException($"The LLM endpoint answered HTTP {e.Status}.", e);
        }
        catch (HttpRequestException e)
        {
            throw new LlmUnavailableException("The LLM endpoint could not be reached.", e);
        }
        finally
        {
            _latency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        var usage = new TokenUsage
        {
            InputTokens = response.Usage?.InputTokenCount ?? 0,
            OutputTokens = response.Usage?.OutputTokenCount ?? 0,
            TotalTokens = response.Usage?.TotalTokenCount ?? 0,
        };
        _tokens.Add(usage.TotalTokens);
        var items = VocabularyResponseParser.Parse(response.Text, request.MaxItems);
        return new GeneratedVocabulary(items, response.ModelId ?? _options.Model, usage);
    }
}
