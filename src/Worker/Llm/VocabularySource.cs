using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Vocab.Contracts;
using Vocab.Storage;
using Vocab.Vocabularies;

namespace Vocab.Worker.Llm;

/// <summary>
/// Pays for an LLM call only when nothing known answers the request: a stored result for the same question
/// (<see cref="ReuseKey"/>) is reused for any caller (or the caller's own, by <c>Llm:ReuseScope</c>), and identical requests in flight at once share one call.
/// </summary>
public sealed class VocabularySource(VocabularyGenerator generator, VocabularyStore store, IOptions<LlmOptions> options, TimeProvider time)
{
    // How long an answer stored here stays at hand for the same question: longer than a lookup made just before it was
    // stored can take to reach its call (the lookup found nothing, and the shared call has landed since).
    private static readonly TimeSpan StoredLatelyFor = TimeSpan.FromSeconds(30);

    private readonly SingleFlight<GeneratedVocabulary> _inFlight = new();
    private readonly ConcurrentDictionary<string, (GeneratedVocabulary Vocabulary, long StoredAt)> _storedLately = new(StringComparer.Ordinal);
    private int _releases;

    /// <summary>The question's key under which its answer is looked up for reuse; null when results are not reused (<c>Llm:ReuseScope</c> off).</summary>
    public string? ReuseKeyFor(GenerateVocabulary request, string userId, string? model)
    {
        var llm = options.Value;
        var scope = llm.EffectiveReuseScope;
        return scope == "off" ? null : ReuseKey.For(request, model ?? llm.Model, VocabularyPrompt.Version, scope == "user" ? userId : null);
    }

    /// <summary>
    /// The list for the request. The caller that got <c>Reused == false</c> must call <see cref="Release"/> once it has
    /// stored it. <paramref name="lookedUp"/>: what the admission's lookup found for the question just before (no second lookup).
    /// </summary>
    public async Task<ProducedVocabulary> GetAsync(GenerateVocabulary request, string userId, string? model, int attempt, CancellationToken cancellationToken,
        RequestLookup? lookedUp = null)
    {
        var llm = options.Value;
        model ??= llm.Model;
        var scope = llm.EffectiveReuseScope;
        var key = ReuseKey.For(request, model, VocabularyPrompt.Version, scope == "user" ? userId : null);
        if (scope == "off")
            return new ProducedVocabulary(await generator.GenerateAsync(request, model, attempt, cancellationToken), key, Reused: false);

        if ((lookedUp is null ? await store.FindByReuseKeyAsync(key, cancellationToken) : lookedUp.Reusable) is { } stored)
            return new ProducedVocabulary(new GeneratedVocabulary(stored.Items.Select(i => i.ToItem()).ToList(), stored.Model, new TokenUsage()), key, Reused: true);
        // No call to join: the answer may have been stored here after that lookup ran (the fair-share turn of its request
        // ended when its call answered, before it was stored), and its call landed since. Looked at as a call would start.
        var storedMeanwhile = false;
        var (shared, started) = _inFlight.Join(key, () =>
        {
            if (StoredLately(key) is not { } meanwhile)
                return GenerateSharedAsync(request, model, attempt);
            storedMeanwhile = true;
            return Task.FromResult(meanwhile);
        });
        if (storedMeanwhile)
        {
            // No call was made: later requests look in the store and here again rather than share this.
            Release(key, stored: null);
            return new ProducedVocabulary((await shared) with { Usage = new TokenUsage() }, key, Reused: true);
        }
        GeneratedVocabulary generated;
        try
        {
            // One waiter giving up must not cancel the call the others wait for.
            generated = await shared.WaitAsync(cancellationToken);
        }
        catch when (started)
        {
            Release(key, stored: null);
            throw;
        }
        catch (LlmInvalidOutputException e) when (e.SpentTokens > 0)
        {
            // Joined another request's call: that request pays for its unusable answers, not this one.
            throw new LlmInvalidOutputException(e.Message, e);
        }
        catch (LlmUnavailableException e) when (e.MayHaveBeenBilled)
        {
            // Likewise for a call that timed out: the request that made it is charged for it.
            throw new LlmUnavailableException(e.Message, e) { Retryable = e.Retryable };
        }
        return started
            ? new ProducedVocabulary(generated, key, Reused: false)
            : new ProducedVocabulary(generated with { Usage = new TokenUsage() }, key, Reused: true);
    }

    private GeneratedVocabulary? StoredLately(string key) =>
        _storedLately.TryGetValue(key, out var lately) && time.GetElapsedTime(lately.StoredAt) <= StoredLatelyFor ? lately.Vocabulary : null;

    /// <summary>
    /// Ends the sharing of a call once its result is stored (<paramref name="stored"/>; null when it could not be, or this
    /// attempt's was not the one stored): later identical requests find it in the store. Until then they join the call,
    /// and on this worker a request whose lookup ran before the store finds it here for a while.
    /// </summary>
    public void Release(string key, GeneratedVocabulary? stored)
    {
        var now = time.GetTimestamp();
        if (stored is not null && options.Value.EffectiveReuseScope != "off")
            _storedLately[key] = (stored, now);
        _inFlight.Land(key);
        // Now and then, what is older than StoredLatelyFor goes: bounded by the answers stored in that time.
        if (Interlocked.Increment(ref _releases) % 256 != 0)
            return;
        foreach (var entry in _storedLately)
        {
            if (time.GetElapsedTime(entry.Value.StoredAt, now) > StoredLatelyFor)
                _storedLately.TryRemove(entry);
        }
    }

    private Task<GeneratedVocabulary> GenerateSharedAsync(GenerateVocabulary request, string model, int attempt) =>
        generator.GenerateAsync(request, model, attempt, CancellationToken.None);
}
