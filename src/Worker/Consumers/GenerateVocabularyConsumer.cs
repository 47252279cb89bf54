using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Vocabularies;
using Vocab.Plans;
using Vocab.Worker.FairShare;
using Vocab.Worker.Filters;
using Vocab.Worker.Llm;
using Vocab.Worker.Messaging;

namespace Vocab.Worker.Consumers;

/// <summary>
/// Generates (or finds stored) the vocabulary list for an authenticated request, stores it, publishes
/// <see cref="VocabularyGenerated"/> and answers the requester.
/// </summary>
public sealed partial class GenerateVocabularyConsumer(
    VocabularySource source, VocabularyStore store, QuotaLedger quotas, UsageMetrics usage, TimeProvider time,
    ILogger<GenerateVocabularyConsumer> logger)
    : IConsumer<GenerateVocabulary>
{
    /// <inheritdoc />
    /// <remarks>A failure is thrown as it is: the outcome filter gives back what was reserved, answers and dead-letters.</remarks>
    public Task Consume(ConsumeContext<GenerateVocabulary> context) => ProduceAsync(context);

    private async Task ProduceAsync(ConsumeContext<GenerateVocabulary> context)
    {
        // Fail closed: without the filter's payload there is no proven caller, whatever the body says. (The dead-letter
        // pipe reads the same caller from the receive context for its headers.)
        if (!context.TryGetPayload(out AuthenticatedCaller? caller))
            throw new InvalidOperationException("No authenticated caller on the consume context: the authentication filter did not run.");

        var request = context.Message;
        context.TryGetPayload(out AdmittedRequest? admitted);
        // A first attempt under a requestId this delivery claimed first has nothing stored to find (a retry may have).
        var stored = admitted is { NothingStored: true } && context.GetRetryAttempt() == 0
            ? null
            : await store.FindByRequestIdAsync(request.RequestId, context.CancellationToken);
        if (stored is not null && stored.UserId != caller.UserId)
            throw new InvalidRequestException("requestId is already used by another caller's request.");

        if (stored is null)
        {
            // No LLM call without a live reservation: only an admitted request (RequestAdmissionFilter) may pay for one.
            if (admitted is null)
                throw new InvalidOperationException($"Request {request.RequestId} has no stored answer and was not admitted: refusing to call the LLM.");
            var produced = await source.GetAsync(request, caller.UserId, admitted.Plan.Limits.Model, context.GetRetryAttempt() + 1, context.CancellationToken);
            try
            {
                stored = await store.InsertOrGetAsync(ToDocument(request, caller, produced), context.CancellationToken);
            }
            finally
            {
                if (!produced.Reused)
                    source.Release(produced.ReuseKey);
            }
            // Another caller may have stored this requestId between our look-up and our insert: theirs stays theirs.
            if (stored.UserId != caller.UserId)
                throw new InvalidRequestException("requestId is already used by another caller's request.");
            await quotas.SettleAsync(caller.UserId, request.RequestId, produced.Vocabulary.Usage.TotalTokens, CancellationToken.None);
            // The user's fair-share turn is charged what the call used (nothing for a reused result).
            if (context.TryGetPayload(out LlmTurn? turn))
                turn.Settle(produced.Vocabulary.Usage.TotalTokens);
            usage.Served(admitted.Plan.Name, produced.Vocabulary.Usage.TotalTokens);
            LogGenerated(logger, request.RequestId, caller.UserId, request.VideoId, stored.Items.Count, produced.Vocabulary.Usage.TotalTokens, produced.Reused);
        }
        else
        {
            // Stored by an attempt that died before settling: settle now (a no-op when it was settled).
            if (admitted is not null)
                await quotas.SettleAsync(caller.UserId, request.RequestId, stored.InputTokens + stored.OutputTokens, CancellationToken.None);
            LogAlreadyStored(logger, request.RequestId, caller.UserId);
        }

        var result = stored.ToGenerated();
        // Both wait for the broker's confirmation; waiting for them together keeps one confirm off the requester's latency.
        await Task.WhenAll(context.Publish(result), RequesterReply.SendAsync(context.ReceiveContext, context, result));
    }

    private VocabularyDocument ToDocument(GenerateVocabulary request, AuthenticatedCaller caller, ProducedVocabulary produced) => new()
    {
        RequestId = request.RequestId.ToString("D"),
        UserId = caller.UserId,
        VideoId = request.VideoId,
        SourceLanguage = request.SourceLanguage,
        TargetLanguage = request.TargetLanguage,
        Items = produced.Vocabulary.Items.Select(VocabularyItemDocument.From).ToList(),
        Model = produced.Vocabulary.Model,
        InputTokens = produced.Vocabulary.Usage.InputTokens,
        OutputTokens = produced.Vocabulary.Usage.OutputTokens,
        ReuseKey = produced.ReuseKey,
        PromptVersion = VocabularyPrompt.Version,
        Reused = produced.Reused,
        // Millisecond precision: what MongoDB stores, so the event and a later read agree.
        CreatedAt = DateTime.UnixEpoch.AddMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds()),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Generated {ItemCount} items for request {RequestId} of user {UserId}, video {VideoId}, {TotalTokens} tokens (reused: {Reused})")]
    private static partial void LogGenerated(ILogger logger, Guid requestId, string userId, string videoId, int itemCount, long totalTokens, bool reused);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} of user {UserId} was already processed; returning the stored result")]
    private static partial void LogAlreadyStored(ILogger logger, Guid requestId, string userId);
}
