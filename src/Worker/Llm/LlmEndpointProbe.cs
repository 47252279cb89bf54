using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace Vocab.Worker.Llm;

/// <summary>
/// At start, asks the LLM endpoint for its models (<c>GET {Llm:Endpoint}/models</c>) and logs one line saying whether it
/// answered, so a newcomer with no LLM configured learns it at once, with the settings to set.
/// </summary>
public sealed partial class LlmEndpointProbe(IHttpClientFactory clients, IOptions<LlmOptions> options, ILogger<LlmEndpointProbe> logger)
    : BackgroundService
{
    /// <summary>The named <see cref="HttpClient"/> the probe asks with (5 s timeout).</summary>
    public const string HttpClientName = "Vocab.LlmEndpointProbe";

    private const string Settings = "set Llm:Endpoint (OpenAI https://api.openai.com/v1, Ollama http://127.0.0.1:11434/v1, vLLM http://host:8000/v1), Llm:Model and Llm:ApiKey";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var llm = options.Value;
        var client = clients.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, llm.Endpoint.TrimEnd('/') + "/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", llm.ApiKey);
        try
        {
            using var response = await client.SendAsync(request, stoppingToken);
            if (response.IsSuccessStatusCode)
                LogAnswered(logger, llm.Endpoint, (int)response.StatusCode, llm.Model);
            else
                LogRefused(logger, llm.Endpoint, (int)response.StatusCode, Settings);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            LogNoAnswer(logger, llm.Endpoint, e is TaskCanceledException ? "no answer within 5 s" : e.Message, Settings);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM endpoint {Endpoint} (Llm:Endpoint) answered HTTP {Status}; model {Model} (Llm:Model)")]
    private static partial void LogAnswered(ILogger logger, string endpoint, int status, string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LLM endpoint {Endpoint} (Llm:Endpoint) answered HTTP {Status} to GET /models: check the key; {Settings}")]
    private static partial void LogRefused(ILogger logger, string endpoint, int status, string settings);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LLM endpoint {Endpoint} (Llm:Endpoint) did not answer ({Cause}): requests will fail with llm_unavailable until it does; {Settings}")]
    private static partial void LogNoAnswer(ILogger logger, string endpoint, string cause, string settings);
}
