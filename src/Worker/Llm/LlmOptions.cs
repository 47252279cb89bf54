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

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Llm:Timeout must be between 100 ms and 10 minutes.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt for timeouts, 5xx and unusable output.</summary>
    [Range(0, 10, ErrorMessage = "Llm:RetryLimit must be between 0 and 10.")]
    public int RetryLimit { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Llm:RetryMinInterval must be between 0 and 10 minutes.")]
    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Llm:RetryMaxInterval must be between 0 and 10 minutes.")]
    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(30);
}
