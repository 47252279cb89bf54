using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Vocab.TestSupport;

/// <summary>
/// A local OpenAI-compatible chat endpoint on loopback. The worker's real HTTP client talks to it; tests choose how it
/// answers and read what it received.
/// </summary>
public sealed class FakeLlmServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<JsonDocument> _requests = new();
    private readonly ConcurrentQueue<DateTime> _callTimes = new();
    private readonly ConcurrentQueue<FakeLlmCall> _calls = new();
    private int _inFlight;
    private int _maxInFlight;

    private FakeLlmServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>How the next calls are answered.</summary>
    public Func<int, FakeLlmAnswer> Behaviour { get; set; } = _ => FakeLlmAnswer.Items(3);

    /// <summary>Chat calls that arrived, counted on arrival: a call the worker gave up on before its body was read still counts.</summary>
    public int CallCount => _callTimes.Count;

    public IReadOnlyList<JsonDocument> Requests => _requests.ToList();

    /// <summary>When each chat call arrived (UTC), in order.</summary>
    public IReadOnlyList<DateTime> CallTimes => _callTimes.ToList();

    /// <summary>Each chat call with the time it arrived (UTC), in the order their bodies were read.</summary>
    public IReadOnlyList<FakeLlmCall> Calls => _calls.ToList();

    /// <summary>The most chat calls that were in flight at once.</summary>
    public int MaxConcurrentCalls => Volatile.Read(ref _maxInFlight);

    /// <summary>How many GET /models probes arrived.</summary>
    public int ModelListings { get; private set; }

    public string Endpoint => _app.Urls.First() + "/v1";

    public static async Task<FakeLlmServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeLlmServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapGet("/v1/models", () =>
        {
            server.ModelListings++;
            return Results.Json(new { @object = "list", data = new[] { new { id = "fake-model", @object = "model" } } });
        });
        await app.StartAsync();
        return server;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            int seen;
            while (inFlight > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, inFlight, seen) != seen)
            {
            }
            await AnswerAsync(http);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task AnswerAsync(HttpContext http)
    {
        var arrived = DateTime.UtcNow;
        _callTimes.Enqueue(arrived);
        var request = await JsonDocument.ParseAsync(http.Request.Body);
        _requests.Enqueue(request);
        _calls.Enqueue(new FakeLlmCall(arrived, request));
        var answer = Behaviour(_requests.Count);
        if (answer.Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(answer.Delay, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        http.Response.StatusCode = answer.Status;
        foreach (var (name, value) in answer.Headers ?? new Dictionary<string, string>())
            http.Response.Headers[name] = value;
        http.Response.ContentType = "application/json";
        if (answer.Status != 200)
        {
            await http.Response.WriteAsync("""{"error":{"message":"fake failure","type":"server_error"}}""");
            return;
        }

        var model = request.RootElement.TryGetProperty("model", out var m) ? m.GetString() : "fake";
        await http.Response.WriteAsJsonAsync(new
        {
            id = "chatcmpl-fake",
            @object = "chat.completion",
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            model,
            choices = new[] { new { index = 0, message = new { role = "assistant", content = answer.Content }, finish_reason = "stop" } },
            usage = new { prompt_tokens = 11, completion_tokens = 22, total_tokens = 33 },
        });
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
