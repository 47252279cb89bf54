using System.ComponentModel.DataAnnotations;

namespace Vocab.Worker.Llm;

/// <summary>The OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM): <c>Llm:*</c>.</summary>
public sealed class LlmOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Llm";

    /// <summary>The API base, e.g. <c>https://api.openai.com/v1</c> or <c>http://localhost:11434/v1</c>.</summary>
    [Required(ErrorMessage = "Llm:Endpoint is required (an OpenAI-compatible base URL such as http://localhost:11434/v1).")]
    [Url(ErrorMessage = "Llm:Endpoint must be an absolute URL.")]
    public string Endpoint { get; set; } = "";

    [Required(ErrorMessage = "Llm:Model is required.")]
    public string Model { get; set; } = "";

    /// <summary>The endpoint's key; a local server that ignores it still needs a placeholder, so a forgotten key fails at start.</summary>
    [Required(ErrorMessage = "Llm:ApiKey is required (for a local server that ignores it, any placeholder such as 'ollama').")]
    public string ApiKey { get; set; } = "";

    /// <summary>
    /// Accepts an <c>http://</c> <see cref="Endpoint"/> while <c>Security:RequireTls</c> is on, and only it: for a model
    /// server on a private network that takes no real key (Ollama beside the worker in docker compose). Off by default.
    /// </summary>
    public bool AllowPlaintextEndpoint { get; set; }

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Llm:Timeout must be between 100 ms and 10 minutes.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt for timeouts, 5xx and unusable output.</summary>
    [Range(0, 10, ErrorMessage = "Llm:RetryLimit must be between 0 and 10.")]
    public int RetryLimit { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Llm:RetryMinInterval must be between 0 and 10 minutes.")]
    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Llm:RetryMaxInterval must be between 0 and 10 minutes.")]
    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Calls after the first for an answer with no usable item; separate from (and smaller than) transport retries.</summary>
    [Range(0, 5, ErrorMessage = "Llm:InvalidOutputRetryLimit must be between 0 and 5.")]
    public int InvalidOutputRetryLimit { get; set; } = 1;

    /// <summary>How the answer's shape is asked for: <c>json_schema</c> (strict), <c>json_object</c> or <c>text</c>.</summary>
    [RegularExpression("^(json_schema|json_object|text)$", ErrorMessage = "Llm:ResponseFormat must be json_schema, json_object or text.")]
    public string ResponseFormat { get; set; } = "json_schema";

    /// <summary>Answer a request from a stored result with the same transcript, languages, maxItems, model and prompt.</summary>
    public bool ReuseResults { get; set; } = true;

    /// <summary>
    /// Whose stored results may answer a request: <c>global</c> (anyone's: cheapest, but a caller can tell from 0 tokens
    /// and speed that someone asked the same), <c>user</c> (the caller's own only) or <c>off</c>.
    /// </summary>
    [RegularExpression("^(global|user|off)$", ErrorMessage = "Llm:ReuseScope must be global, user or off.")]
    public string ReuseScope { get; set; } = "global";

    /// <summary>The reuse scope in effect: <c>off</c> when <see cref="ReuseResults"/> is false.</summary>
    public string EffectiveReuseScope => ReuseResults ? ReuseScope : "off";

    /// <summary>LLM calls in flight at once in this worker, whatever Worker:ConcurrentMessageLimit is.</summary>
    [Range(1, 1_000, ErrorMessage = "Llm:MaxConcurrentCalls must be between 1 and 1000.")]
    public int MaxConcurrentCalls { get; set; } = 16;

    /// <summary>The longest pause a provider's Retry-After may impose on the whole worker.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Llm:MaxProviderPause must be between 0 and 1 hour.")]
    public TimeSpan MaxProviderPause { get; set; } = TimeSpan.FromMinutes(5);
}
