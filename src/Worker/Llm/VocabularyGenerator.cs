using System.ClientModel;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Vocab.Contracts;
using Vocab.Vocabularies;

namespace Vocab.Worker.Llm;

/// <summary>
/// Asks the chat model for a vocabulary list. Transport failures become <see cref="LlmUnavailableException"/> (retried
/// by the message retry policy); an answer with no usable item is asked again up to
/// <see cref="LlmOptions.InvalidOutputRetryLimit"/> times here, then is <see cref="LlmInvalidOutputException"/>.
/// Every call passes the <see cref="LlmCallGate"/>, and a provider's 429/503 with a wait pauses the whole worker.
/// </summary>
public sealed partial class VocabularyGenerator
{
    /// <summary>The meter's name, for OpenTelemetry registration.</summary>
    public const string MeterName = "Vocab.Llm";

    private readonly IChatClient _chat;
    private readonly LlmOptions _options;
    private readonly LlmCallGate _gate;
    private readonly TimeProvider _time;
    private readonly ILogger<VocabularyGenerator> _logger;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _calls;

    public VocabularyGenerator(IChatClient chat, IOptions<LlmOptions> options, LlmCallGate gate, TimeProvider time,
        IMeterFactory meters, ILogger<VocabularyGenerator> logger)
    {
        _chat = chat;
        _options = options.Value;
        _gate = gate;
        _time = time;
        _logger = logger;
        var meter = meters.Create(MeterName);
        _latency = meter.CreateHistogram<double>("vocab.llm.duration", "s", "LLM call latency");
        _tokens = meter.CreateCounter<long>("vocab.llm.tokens", description: "Tokens used by LLM calls");
        _calls = meter.CreateCounter<long>("vocab.llm.calls", description: "LLM calls made (each one paid)");
    }

    /// <summary>A usable list for the request; <paramref name="attempt"/> (from 1) is the message's delivery attempt, for the log.</summary>
    public async Task<GeneratedVocabulary> GenerateAsync(GenerateVocabulary request, string model, int attempt, CancellationToken cancellationToken)
    {
        var spent = new TokenUsage();
        for (var ask = 0; ; ask++)
        {
            var (text, answeredBy, usage) = await CallAsync(request, model, attempt, cancellationToken);
            spent = new TokenUsage
            {
                InputTokens = spent.InputTokens + usage.InputTokens, OutputTokens = spent.OutputTokens + usage.OutputTokens,
                TotalTokens = spent.TotalTokens + usage.TotalTokens,
            };
            try
            {
                return new GeneratedVocabulary(VocabularyResponseParser.Parse(text, request.MaxItems), answeredBy, spent);
            }
            catch (LlmInvalidOutputException e) when (ask < _options.InvalidOutputRetryLimit)
            {
                LogUnusableAnswer(_logger, request.RequestId, ask + 1, e.Message);
            }
            catch (LlmInvalidOutputException e)
            {
                // The answers were paid for: the caller is charged them, so asking again and again is not free.
                throw new LlmInvalidOutputException(e.Message, e) { SpentTokens = spent.TotalTokens };
            }
        }
    }

    private async Task<(string? Text, string Model, TokenUsage Usage)> CallAsync(GenerateVocabulary request, string model, int attempt, CancellationToken cancellationToken)
    {
        using var slot = await _gate.EnterAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var started = Stopwatch.GetTimestamp();
        _calls.Add(1);
        try
        {
            var response = await _chat.GetResponseAsync(
                [new ChatMessage(ChatRole.System, VocabularyPrompt.System), new ChatMessage(ChatRole.User, VocabularyPrompt.User(request))],
                ChatOptions(model, request.MaxItems), timeout.Token);
            var usage = new TokenUsage
            {
                InputTokens = response.Usage?.InputTokenCount ?? 0,
                OutputTokens = response.Usage?.OutputTokenCount ?? 0,
                TotalTokens = response.Usage?.TotalTokenCount ?? 0,
            };
            _tokens.Add(usage.TotalTokens);
            return (response.Text, response.ModelId ?? model, usage);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Failed(request, attempt, $"no answer within {_options.Timeout} (Llm:Timeout)", e, mayHaveBeenBilled: true);
        }
        catch (ClientResultException e) when (e.Status is 429 or 503)
        {
            var asked = ProviderRetryAfter.From(e.GetRawResponse(), _time.GetUtcNow());
            var why = asked is { } wait
                ? $"HTTP {e.Status}: the provider asked to wait; every call of this worker pauses for {_gate.Pause(wait).TotalSeconds:0.#} s"
                : $"HTTP {e.Status}";
            throw Failed(request, attempt, why, e);
        }
        catch (ClientResultException e)
        {
            // The same request would be refused the same way (a bad model name, a key the provider refuses): not retried.
            throw Failed(request, attempt, e.Status == 0 ? Cause(e) : $"HTTP {e.Status}", e, retryable: e.Status is 0 or 408 or >= 500);
        }
        catch (HttpRequestException e)
        {
            throw Failed(request, attempt, Cause(e), e);
        }
        finally
        {
            _latency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private ChatOptions ChatOptions(string model, int maxItems)
    {
        // The answer is capped at what its reservation allowed for, so a transcript asking for long answers cannot spend
        // past the caller's quota.
        var options = new ChatOptions { ModelId = model, Temperature = 0.2f, MaxOutputTokens = RequestTokenEstimator.OutputTokens(maxItems) };
        switch (_options.ResponseFormat)
        {
            case "json_schema":
                // Built on the OpenAI SDK's own options: the abstraction has no portable switch for a strict schema.
                options.RawRepresentationFactory = _ => new OpenAI.Chat.ChatCompletionOptions
                {
                    ResponseFormat = OpenAI.Chat.ChatResponseFormat.CreateJsonSchemaFormat("vocabulary_list",
                        BinaryData.FromString(VocabularyPrompt.Schema.GetRawText()), "Vocabulary items from a transcript", jsonSchemaIsStrict: true),
                };
                break;
            case "json_object":
                options.ResponseFormat = ChatResponseFormat.Json;
                break;
            default:
                options.ResponseFormat = ChatResponseFormat.Text;
                break;
        }
        return options;
    }

    private LlmUnavailableException Failed(GenerateVocabulary request, int attempt, string cause, Exception e, bool mayHaveBeenBilled = false,
        bool retryable = true)
    {
        LogCallFailed(_logger, _options.Endpoint, cause, attempt, request.RequestId);
        LogCallFailedDetail(_logger, e, request.RequestId);
        return new LlmUnavailableException($"The LLM call failed: {cause}.", e) { MayHaveBeenBilled = mayHaveBeenBilled, Retryable = retryable };
    }

    // Status 0 means no HTTP answer at all: say what happened instead.
    private static string Cause(Exception e)
    {
        var chain = new List<Exception>();
        for (var inner = e; inner is not null; inner = inner.InnerException)
            chain.Add(inner);
        if (chain.OfType<SocketException>().FirstOrDefault() is { } socket)
            return socket.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : $"network error ({socket.SocketErrorCode})";
        if (chain.OfType<HttpRequestException>().FirstOrDefault(h => h.HttpRequestError != HttpRequestError.Unknown) is { } http)
            return $"request failed ({http.HttpRequestError})";
        return "no HTTP answer";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "LLM call to {Endpoint} failed: {Cause} (attempt {Attempt}, request {RequestId})")]
    private static partial void LogCallFailed(ILogger logger, string endpoint, string cause, int attempt, Guid requestId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "LLM call failure detail for request {RequestId}")]
    private static partial void LogCallFailedDetail(ILogger logger, Exception exception, Guid requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM answer {Ask} for request {RequestId} had no usable item ({Why}); asking again")]
    private static partial void LogUnusableAnswer(ILogger logger, Guid requestId, int ask, string why);
}
