using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Vocab.Contracts;

namespace Vocab.Tests.Cluster;

/// <summary>
/// Synchronous callers of the HTTP bridge: each asks again after a 503 or 504 (the bridge's answers while the broker is
/// unreachable or the worker slow), as its documentation tells callers to. Records when each 200 came. A run gives up as a
/// whole five minutes after it began; a call not made by then is not in <see cref="Final"/>.
/// </summary>
public sealed class BridgeLoad(HttpClient bridge, string apiKey, Stopwatch clock)
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(5);
    private readonly ConcurrentQueue<TimeSpan> _answerTimes = new();
    private int _retries;
    private int _timeouts;

    public ConcurrentDictionary<int, HttpStatusCode> Final { get; } = new();

    public int Retries => Volatile.Read(ref _retries);

    /// <summary>Calls the bridge did not answer within the client's timeout (each asked again).</summary>
    public int Timeouts => Volatile.Read(ref _timeouts);

    public IReadOnlyList<TimeSpan> AnswerTimes => _answerTimes.Order().ToList();

    public async Task RunAsync(int count, int concurrency, string tag)
    {
        var giveUp = clock.Elapsed + GiveUpAfter;
        using var slots = new SemaphoreSlim(concurrency);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await slots.WaitAsync();
            try
            {
                if (clock.Elapsed < giveUp)
                    Final[i] = await PostAsync($"Bridge {tag} transcript {i} {Guid.NewGuid():N}", giveUp);
            }
            finally
            {
                slots.Release();
            }
        }));
    }

    private async Task<HttpStatusCode> PostAsync(string transcript, TimeSpan giveUp)
    {
        while (true)
        {
            HttpStatusCode status;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/videos/video-{Guid.NewGuid():N}/vocabulary")
                {
                    Content = JsonContent.Create(new { transcript, sourceLanguage = "en", targetLanguage = "ko", maxItems = 5 }),
                };
                request.Headers.Add(VocabHeaders.ApiKey, apiKey);
                using var response = await bridge.SendAsync(request);
                status = response.StatusCode;
            }
            catch (HttpRequestException) when (clock.Elapsed < giveUp)
            {
                status = HttpStatusCode.ServiceUnavailable;
            }
            catch (TaskCanceledException) when (clock.Elapsed < giveUp)
            {
                // No answer within the client's own timeout (once, in CI, while a node stopped): a caller asks again.
                Interlocked.Increment(ref _timeouts);
                status = HttpStatusCode.GatewayTimeout;
            }
            if (status == HttpStatusCode.OK)
                _answerTimes.Enqueue(clock.Elapsed);
            if (status is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout) || clock.Elapsed >= giveUp)
                return status;
            Interlocked.Increment(ref _retries);
            await Task.Delay(200);
        }
    }
}
