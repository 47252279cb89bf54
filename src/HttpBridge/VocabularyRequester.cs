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

    /// <summary>False while the bus cannot reach the broker: a request then fails fast (503) instead of waiting out its timeout.</summary>
    public bool IsAvailable => bus.CheckHealth().Status != BusHealthStatus.Unhealthy;

    /// <summary>The worker's answer; throws <see cref="RequestTimeoutException"/> after <see cref="BridgeOptions.RequestTimeout"/>.</summary>
    public Task<Response<VocabularyGenerated, GenerateVocabularyRejected>> RequestAsync(
        GenerateVocabulary request, PresentedCredential credential, CancellationToken cancellationToken) =>
        _client.GetResponse<VocabularyGenerated, GenerateVocabularyRejected>(request, x => x.UseExecute(context =>
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
        }), cancellationToken, RequestTimeout.After(ms: (int)options.Value.RequestTimeout.TotalMilliseconds));
}
