using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Vocab.Contracts;

namespace Vocab.TestSupport;

/// <summary>
/// A publisher's requests as a careful backend sends them: each waits for its answer, and one left unanswered (a
/// timeout, a broken connection) is sent again with the same <c>requestId</c>, which the worker answers idempotently.
/// Records when each answer came, on the test's clock. A run gives up as a whole five minutes after it began: a
/// per-request limit let a run whose answers had stopped go on for hours (64 at a time, five minutes each).
/// </summary>
public sealed class RequestLoad(IBusControl publisher, string apiKey, Stopwatch clock)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan SendMargin = TimeSpan.FromSeconds(10);
    private readonly ConcurrentQueue<TimeSpan> _answerTimes = new();
    private int _resends;

    public ConcurrentDictionary<Guid, VocabularyGenerated> Answers { get; } = new();

    public ConcurrentDictionary<Guid, string> Rejections { get; } = new();

    /// <summary>Requests sent again after no answer came.</summary>
    public int Resends => Volatile.Read(ref _resends);

    /// <summary>When each answer arrived, in order.</summary>
    public IReadOnlyList<TimeSpan> AnswerTimes => _answerTimes.Order().ToList();

    public async Task RunAsync(IReadOnlyList<GenerateVocabulary> requests, int concurrency)
    {
        // The exchange, not queue:…: a sender declaring the queue would declare it classic, which the quorum queue refuses.
        var client = publisher.CreateRequestClient<GenerateVocabulary>(new Uri("exchange:generate-vocabulary"), MassTransit.RequestTimeout.After(s: (int)RequestTimeout.TotalSeconds));
        var giveUp = clock.Elapsed + GiveUpAfter;
        using var slots = new SemaphoreSlim(concurrency);
        await Task.WhenAll(requests.Select(async request =>
        {
            await slots.WaitAsync();
            try
            {
                if (clock.Elapsed < giveUp)
                    await RequestAsync(client, request, giveUp);
            }
            finally
            {
                slots.Release();
            }
        }));
    }

    private async Task RequestAsync(IRequestClient<GenerateVocabulary> client, GenerateVocabulary request, TimeSpan giveUp)
    {
        while (true)
        {
            try
            {
                // Bounded as a whole: a send caught on a channel that went with its node never completes, and the request
                // timeout starts only once the send has (seen: four requests waiting for ever after a node stopped).
                using var abandon = new CancellationTokenSource(RequestTimeout + SendMargin);
                var response = await client.GetResponse<VocabularyGenerated, GenerateVocabularyRejected>(request, x => x.UseExecute(c =>
                {
                    c.UseApiKey(apiKey);
                    // No time-to-live on the message (MassTransit sets the request timeout, and times the request by the
                    // same setting, so it is cleared here, after it was set): a copy still queued when its resend goes out
                    // is answered too, from the store, instead of expiring into the error queue on a slow machine.
                    c.TimeToLive = null;
                }), abandon.Token).WaitAsync(RequestTimeout + SendMargin + SendMargin);
                if (response.Is(out Response<VocabularyGenerated>? generated))
                {
                    Answers[request.RequestId] = generated.Message;
                    _answerTimes.Enqueue(clock.Elapsed);
                }
                else if (response.Is(out Response<GenerateVocabularyRejected>? rejected))
                {
                    Rejections[request.RequestId] = rejected.Message.Reason;
                }
                return;
            }
            catch (Exception) when (clock.Elapsed < giveUp)
            {
                // No answer (timeout) or no broker (a node went away): the same request again.
                Interlocked.Increment(ref _resends);
                await Task.Delay(200);
            }
        }
    }
}
