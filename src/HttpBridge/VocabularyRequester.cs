using MassTransit;
using Microsoft.Extensions.Options;
using Vocab.Authentication;
using Vocab.Contracts;

namespace Vocab.HttpBridge;

/// <summary>Sends <see cref="GenerateVocabulary"/> to the worker as a MassTransit request, forwarding the caller's credential.</summary>
public sealed class VocabularyRequester(IClientFactory clients, IBusControl bus, IOptions<BridgeOptions> options)
{
    // To the queue's exchange (Bridge:QueueName), which the worker (or rabbitmq/definitions.json) binds to it: sending to
    // queue:… would make the bridge declare a classic queue, which a quorum deployment's queue refuses.
    private readonly IRequestClient<GenerateVocabulary> _client =
        clients.CreateRequestClient<GenerateVocabulary>(new Uri($"exchange:{options.Value.QueueName}"));

    // Past the request timeout, before a call whose send has not ended is given up: a send ends within milliseconds
    // unless the broker is away, so this only decides how late such a caller hears 504.
    private static readonly TimeSpan SendGrace = TimeSpan.FromSeconds(1);

    // Sends given up on before they ended: the broker has gone silent on the bus's connection, and each holds its request
    // until the connection's heartbeat ends it.
    private int _stuckSends;

    /// <summary>
    /// False while the bus cannot reach the broker, or a send given up on has not ended (a broker gone silent, which the
    /// bus sees only at its next heartbeat): a request then fails fast (503) instead of waiting out its timeout.
    /// </summary>
    public bool IsAvailable => Volatile.Read(ref _stuckSends) == 0 && bus.CheckHealth().Status != BusHealthStatus.Unhealthy;

    /// <summary>
    /// The worker's answer; throws <see cref="RequestTimeoutException"/> after <see cref="BridgeOptions.RequestTimeout"/>,
    /// whether no answer came or the send itself never ended.
    /// </summary>
    public async Task<Response<VocabularyGenerated, GenerateVocabularyRejected>> RequestAsync(
        GenerateVocabulary request, PresentedCredential credential, CancellationToken cancellationToken)
    {
        var timeout = options.Value.RequestTimeout;
        var giveUp = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var response = _client.GetResponse<VocabularyGenerated, GenerateVocabularyRejected>(request, x => x.UseExecute(context =>
        {
            // A synchronous request need not survive a broker restart (its caller gets a 504 and asks again), so the
            // broker can skip the disk write that a persistent message costs on every request.
            context.Durable = false;
            // A caller over its rate, or whose Idempotency-Key is in flight, hears so now (429, 409) rather than at the timeout.
            context.Headers.Set(VocabHeaders.AnswerWithoutWaiting, "true");
            // The worker checks the credential again: forward exactly what the caller presented.
            if (credential.Kind == CredentialKind.ApiKey)
                context.UseApiKey(credential.Secret);
            else if (credential.Kind == CredentialKind.Bearer)
                context.UseBearerToken(credential.Secret);
        }), giveUp.Token, RequestTimeout.After(ms: (int)timeout.TotalMilliseconds));
        var stuck = false;
        try
        {
            // MassTransit's request timeout and the token do not end a send still waiting for the broker's confirmation: a
            // broker gone silent (connection open, nothing back) held callers past a minute while a node stopped.
            return await response.WaitAsync(timeout + SendGrace, cancellationToken);
        }
        catch (TimeoutException e)
        {
            stuck = true;
            throw new RequestTimeoutException(request.RequestId.ToString(), e);
        }
        finally
        {
            if (response.IsCompleted)
                giveUp.Dispose();
            else
            {
                // Given up on (stuck, or the caller left): MassTransit drops its handle once the send ends, and its fault is no one's.
                giveUp.Cancel();
                if (stuck)
                    Interlocked.Increment(ref _stuckSends);
                _ = response.ContinueWith(t =>
                {
                    if (stuck)
                        Interlocked.Decrement(ref _stuckSends);
                    giveUp.Dispose();
                    return t.Exception;
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }
}
