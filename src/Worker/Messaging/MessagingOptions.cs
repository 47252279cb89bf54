using System.ComponentModel.DataAnnotations;
using Vocab.Messaging;

namespace Vocab.Worker.Messaging;

/// <summary>The worker's broker settings: <c>ConnectionStrings:RabbitMq</c> and <c>Worker:*</c>.</summary>
public sealed class MessagingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Worker";

    /// <summary>From <c>ConnectionStrings:RabbitMq</c>, e.g. <c>amqp://user:pass@host:5672/vhost</c>.</summary>
    [Required(ErrorMessage = "ConnectionStrings:RabbitMq is required (e.g. amqp://vocab-worker:password@localhost:5672/).")]
    public string ConnectionString { get; set; } = "";

    /// <summary>The durable queue publishers send to; failures go to <c>&lt;queue&gt;_error</c>.</summary>
    [Required(ErrorMessage = "Worker:QueueName is required.")]
    public string QueueName { get; set; } = QueueNames.DefaultInput;

    /// <summary>Failed messages, scrubbed, with a reason.</summary>
    public string ErrorQueueName => QueueNames.Error(QueueName);

    /// <summary>Where the broker dead-letters the input queue's expired and rejected messages; only the worker reads it.</summary>
    public string QuarantineQueueName => QueueNames.Quarantine(QueueName);

    /// <summary><c>classic</c>, or <c>quorum</c> (replicated across a cluster's nodes; recommended in production).</summary>
    [RegularExpression("^(classic|quorum)$", ErrorMessage = "Worker:QueueType must be classic or quorum.")]
    public string QueueType { get; set; } = "classic";

    /// <summary>Quorum queues only: deliveries of one message before the broker dead-letters it (a poison message, a crash loop).</summary>
    [Range(1, 1_000, ErrorMessage = "Worker:DeliveryLimit must be between 1 and 1000.")]
    public int DeliveryLimit { get; set; } = 5;

    /// <summary>True when the worker's queues are quorum queues.</summary>
    public bool IsQuorum => QueueType == "quorum";

    /// <summary>What every queue the worker declares itself (error, skipped, delay) needs beside its own arguments.</summary>
    public IReadOnlyDictionary<string, object> DeclaredQueueArguments =>
        IsQuorum ? new Dictionary<string, object> { ["x-queue-type"] = "quorum" } : new Dictionary<string, object>();

    /// <summary>
    /// How often the worker looks for parked copies a delay queue holds past their wait (<see cref="DelayQueueSweeper"/>);
    /// a copy is moved back a whole interval after it was due.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Worker:DelaySweepInterval must be between 1 second and 10 minutes.")]
    public TimeSpan DelaySweepInterval { get; set; } = TimeSpan.FromSeconds(10);

    [Range(1, 10_000, ErrorMessage = "Worker:PrefetchCount must be between 1 and 10000.")]
    public int PrefetchCount { get; set; } = 512;

    /// <summary>
    /// Messages worked on at once: well above <c>Llm:MaxConcurrentCalls</c>, so each user keeps messages at hand for its
    /// share of the calls, and a newcomer (or a reused result, a refusal) still gets a consumer slot during a burst. Higher,
    /// a burst the workers can hold leaves the shared queue without a park (docs/fair-share.md#limits), at the cost of
    /// memory (at most this many times the largest message). 512: during a 2,000-message burst a light user's request
    /// reached a worker in 14-73 ms (p95) at 512 and in about 1 s at 256, where it waited behind the burst's parks.
    /// </summary>
    [Range(1, 10_000, ErrorMessage = "Worker:ConcurrentMessageLimit must be between 1 and 10000.")]
    public int ConcurrentMessageLimit { get; set; } = 512;

    /// <summary>How long a worker's claim on a request lasts without renewal (renewed while it works); a crashed worker's runs out.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Worker:RequestLease must be between 1 second and 10 minutes.")]
    public TimeSpan RequestLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a copy of a request waits in the worker for the copy being produced, before it waits on a delay queue instead.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Worker:InFlightWait must be between 0 and 10 minutes.")]
    public TimeSpan InFlightWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the worker's answer to a requester, and a served request's <c>VocabularyGenerated</c> event, may take to be
    /// confirmed, MassTransit's own retries included: a send the broker refuses (a queue bound there that rejects what it is
    /// given) is retried for hours otherwise, with the consumer slot held. Past it, an answer is not answered (the
    /// requester asks again and finds the stored answer); an event goes to the error queue as <c>event_not_published</c>,
    /// for a replay to publish.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Worker:SendTimeout must be between 1 second and 5 minutes.")]
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The largest message body the worker reads (2 MiB; the bridge sends at most about 1.3 MB). The broker accepts far
    /// larger ones: past this, a message is refused as <c>invalid_request</c> before its credential is read, filed
    /// metadata only, so no publisher stores big bodies on the error queue and in the failure store.
    /// </summary>
    [Range(64 * 1024, 64 * 1024 * 1024, ErrorMessage = "Worker:MaxMessageBytes must be between 64 KiB and 64 MiB.")]
    public int MaxMessageBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// On stop, how long messages in hand may run on before their work is cancelled and they go back to the broker for
    /// another worker (a rolling deploy hands over an LLM call in progress instead of waiting out <c>StopTimeout</c>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:25", ErrorMessage = "Worker:ConsumerStopTimeout must be between 0 and 25 seconds (the bus stops within 30).")]
    public TimeSpan ConsumerStopTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
