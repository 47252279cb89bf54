using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Vocab.Contracts;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>
/// The broker accounts of rabbitmq/definitions.json against the real broker: the worker and the bridge serve requests
/// on their own accounts, and each account is refused (ACCESS_REFUSED) what its role does not need.
/// </summary>
public sealed class BrokerAccountTests(RoleAccountFixture fixture) : IClassFixture<RoleAccountFixture>
{
    private const string Input = WorkerFixture.QueueName;
    private const string Error = WorkerFixture.ErrorQueueName;
    private const string Refused = WorkerFixture.QueueName + "_refused";
    private const string Quarantine = Input + "_quarantine";
    private const string Events = "Vocab.Contracts:VocabularyGenerated";
    private const int AccessRefused = 403;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // --- the pipeline on role accounts ---

    [Fact]
    public async Task Publisher_PublishesToExchange_WorkerOnItsAccountRepliesOnServerNamedQueue()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("accounts-raw");
        await using var connection = await ConnectAsync(RabbitMqRoleAccounts.Publisher);
        await using var channel = await connection.CreateChannelAsync();
        var replyQueue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        var reply = await ConsumeOneAsync(channel, replyQueue);

        var correlationId = Guid.NewGuid().ToString();
        await PublishRequestAsync(channel, key, replyQueue, correlationId);

        var (properties, body) = await reply.WaitAsync(Patience);
        Assert.Equal(correlationId, properties.CorrelationId);
        Assert.Equal(nameof(VocabularyGenerated), properties.Type);
        using var result = JsonDocument.Parse(body);
        Assert.Equal("accounts-raw", result.RootElement.GetProperty("userId").GetString());
        Assert.Equal(3, result.RootElement.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Worker_OverTheRate_DelaysOnItsAccountAndAnswersEveryRequest()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("accounts-burst", role: Vocab.Authentication.Roles.Premium);
        await using var connection = await ConnectAsync(RabbitMqRoleAccounts.Publisher);
        await using var channel = await connection.CreateChannelAsync();
        var replyQueue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        var replies = new List<string>();
        var allAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            lock (replies)
            {
                replies.Add(delivery.BasicProperties.Type ?? "");
                if (replies.Count == 3)
                    allAnswered.TrySetResult();
            }
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(replyQueue, autoAck: true, consumer);

        for (var i = 0; i < 3; i++)
            await PublishRequestAsync(channel, key, replyQueue, Guid.NewGuid().ToString());

        await allAnswered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(replies, type => Assert.Equal(nameof(VocabularyGenerated), type));
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("accounts-burst", StringComparison.Ordinal) && l.Contains("back on the queue", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Worker_OnQuorumQueues_DeclaresItsTopologyOnItsAccount()
    {
        // The cluster profile's shape: no definitions imported, the worker declares quorum queues with their dead-letter
        // arguments (which the broker checks against the declaring account too).
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("accounts-quorum");
        await using var accounts = await RabbitMqRoleAccounts.CreateAsync(vhost);
        var configuration = fixture.WorkerConfiguration();
        configuration["ConnectionStrings:RabbitMq"] = accounts.AmqpUri(RabbitMqRoleAccounts.Worker).ToString();
        configuration["Worker:QueueType"] = "quorum";
        using var worker = WorkerFixture.BuildWorker(configuration);
        using (var starting = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            await worker.StartAsync(starting.Token);
        try
        {
            var (_, key) = await fixture.CreateApiKeyAsync("accounts-quorum");
            await using var connection = await ConnectAsync(accounts, RabbitMqRoleAccounts.Publisher);
            await using var channel = await connection.CreateChannelAsync();
            var replyQueue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
            var reply = await ConsumeOneAsync(channel, replyQueue);

            await PublishRequestAsync(channel, key, replyQueue, Guid.NewGuid().ToString());

            Assert.Equal(nameof(VocabularyGenerated), (await reply.WaitAsync(Patience)).Properties.Type);
            using var input = JsonDocument.Parse(await vhost.Management.GetStringAsync($"api/queues/{vhost.Name}/{Input}"));
            Assert.Equal("quorum", input.RootElement.GetProperty("type").GetString());
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Publisher_DirectReplyTo_GetsItsReply()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("accounts-direct");
        await using var connection = await ConnectAsync(RabbitMqRoleAccounts.Publisher);
        await using var channel = await connection.CreateChannelAsync();
        var reply = await ConsumeOneAsync(channel, "amq.rabbitmq.reply-to");

        await PublishRequestAsync(channel, key, "amq.rabbitmq.reply-to", Guid.NewGuid().ToString());

        var (properties, _) = await reply.WaitAsync(Patience);
        Assert.Equal(nameof(VocabularyGenerated), properties.Type);
    }

    [Fact]
    public async Task Bridge_OnItsAccount_ServesHttpRequestThroughWorkerOnItsAccount()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("accounts-http");
        var request = new HttpRequestMessage(HttpMethod.Post, "/videos/accounts-video/vocabulary")
        {
            Content = JsonContent.Create(new { transcript = "I love learning new words every day.", sourceLanguage = "en", targetLanguage = "ko", maxItems = 5 }),
        };
        request.Headers.Add(VocabHeaders.ApiKey, key);

        var response = await fixture.Bridge.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<VocabularyGenerated>();
        Assert.Equal("accounts-http", body!.UserId);
    }

    [Fact]
    public async Task Events_BindsToVocabularyGenerated_ReceivesTheEvent()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("accounts-events");
        await using var events = await ConnectAsync(RabbitMqRoleAccounts.Events);
        await using var listen = await events.CreateChannelAsync();
        var queue = (await listen.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await listen.QueueBindAsync(queue, Events, "");
        var received = await ConsumeOneAsync(listen, queue);

        await using var publisher = await ConnectAsync(RabbitMqRoleAccounts.Publisher);
        await using var publish = await publisher.CreateChannelAsync();
        await PublishRequestAsync(publish, key, replyTo: null, Guid.NewGuid().ToString());

        var (_, body) = await received.WaitAsync(Patience);
        Assert.Contains("accounts-events", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publisher_UnknownKey_RejectedByWorkerAndFiledWhereOpsReadsIt()
    {
        await using var connection = await ConnectAsync(RabbitMqRoleAccounts.Publisher);
        await using var channel = await connection.CreateChannelAsync();
        var replyQueue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        var reply = await ConsumeOneAsync(channel, replyQueue);
        var correlationId = Guid.NewGuid().ToString();

        await PublishRequestAsync(channel, "vocab_unknown_" + Guid.NewGuid().ToString("N"), replyQueue, correlationId);

        var (properties, _) = await reply.WaitAsync(Patience);
        Assert.Equal(nameof(GenerateVocabularyRejected), properties.Type);
        await using var ops = await ConnectAsync(RabbitMqRoleAccounts.Ops);
        var opsChannel = await ops.CreateChannelAsync();
        // The copy is filed (a credential refusal: on _refused, metadata only) as the rejection is sent: wait for it
        // rather than race it (the queue itself is declared with the first copy; until then basic.get closes the channel).
        BasicGetResult? filed = null;
        for (var deadline = DateTime.UtcNow + Patience; filed is null && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            try
            {
                filed = await opsChannel.BasicGetAsync(Refused, autoAck: false);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                opsChannel = await ops.CreateChannelAsync();
            }
        }
        Assert.NotNull(filed);
        Assert.Equal(correlationId, filed.BasicProperties.CorrelationId);
        await opsChannel.BasicNackAsync(filed.DeliveryTag, multiple: false, requeue: true);
    }

    [Fact]
    public async Task Ops_ReadsAndPurgesErrorQueue_PublishesReplayToExchange()
    {
        await using var connection = await ConnectAsync(RabbitMqRoleAccounts.Ops);
        await using var channel = await connection.CreateChannelAsync(Confirms);

        _ = await channel.BasicGetAsync(Error, autoAck: false);
        await channel.QueuePurgeAsync(Error);
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(Error)).MessageCount);
        // A replay goes to the input queue's exchange: no consumer-readable credential is needed for that.
        await channel.BasicPublishAsync(Input, "", true, new BasicProperties { ContentType = "application/json" }, "{}"u8.ToArray());
    }

    [Fact]
    public async Task Vocabctl_AsOps_ListsAndPurgesDeadLetters()
    {
        await using (var publisher = await ConnectAsync(RabbitMqRoleAccounts.Publisher))
        await using (var channel = await publisher.CreateChannelAsync())
            await PublishRequestAsync(channel, "vocab_unknown_" + Guid.NewGuid().ToString("N"), replyTo: null, Guid.NewGuid().ToString());
        var configuration = fixture.WorkerConfiguration();
        configuration["ConnectionStrings:RabbitMq"] = fixture.Accounts.AmqpUri(RabbitMqRoleAccounts.Ops).ToString();

        // The ops account takes the refusals into the failure store (reading and acknowledging them), then lists and purges there.
        var ingest = await VocabCtlRunner.RunWithAsync(configuration, "dlq", "ingest");
        var list = await VocabCtlRunner.RunWithAsync(configuration, "dlq", "list", "--refused", "--json");
        for (var deadline = DateTime.UtcNow + Patience; ingest.ExitCode == 0 && list.ExitCode == 0 && list.Json.GetArrayLength() == 0 && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100);
            ingest = await VocabCtlRunner.RunWithAsync(configuration, "dlq", "ingest");
            list = await VocabCtlRunner.RunWithAsync(configuration, "dlq", "list", "--refused", "--json");
        }
        Assert.True(ingest.ExitCode == 0, ingest.ToString());
        var purge = await VocabCtlRunner.RunWithAsync(configuration, "dlq", "purge", "--all", "--refused", "--yes");

        Assert.True(list.ExitCode == 0 && list.Json.GetArrayLength() > 0, list.ToString());
        Assert.True(purge.ExitCode == 0, purge.ToString());
        await using var ops = await ConnectAsync(RabbitMqRoleAccounts.Ops);
        await using var opsChannel = await ops.CreateChannelAsync();
        Assert.Equal(0u, (await opsChannel.QueueDeclarePassiveAsync(Refused)).MessageCount);
    }

    // --- refusals ---

    public static TheoryData<string, string> Refusals => new()
    {
        // The publisher sends requests and reads its own replies; nothing else.
        { RabbitMqRoleAccounts.Publisher, "get:" + Input },
        { RabbitMqRoleAccounts.Publisher, "get:" + Error },
        { RabbitMqRoleAccounts.Publisher, "get:" + Quarantine },
        { RabbitMqRoleAccounts.Publisher, "get:" + Input + "_delay_1s" },
        { RabbitMqRoleAccounts.Publisher, "bind:" + Events },
        { RabbitMqRoleAccounts.Publisher, "bind:" + Input },
        { RabbitMqRoleAccounts.Publisher, "default:" + Error },
        { RabbitMqRoleAccounts.Publisher, "default:" + Input },
        { RabbitMqRoleAccounts.Publisher, "publish:" + Error },
        { RabbitMqRoleAccounts.Publisher, "publish:" + Events },
        { RabbitMqRoleAccounts.Publisher, "declare:my-queue" },
        { RabbitMqRoleAccounts.Publisher, "delete:" + Input },
        { RabbitMqRoleAccounts.Publisher, "purge:" + Input },
        // Who receives events reads them, and only them.
        { RabbitMqRoleAccounts.Events, "get:" + Input },
        { RabbitMqRoleAccounts.Events, "get:" + Error },
        { RabbitMqRoleAccounts.Events, "default:" + Input },
        { RabbitMqRoleAccounts.Events, "publish:" + Input },
        { RabbitMqRoleAccounts.Events, "publish:" + Events },
        { RabbitMqRoleAccounts.Events, "bind:" + Error },
        // Ops handles the error queues; it neither reads requests in flight nor taps events.
        { RabbitMqRoleAccounts.Ops, "get:" + Input },
        { RabbitMqRoleAccounts.Ops, "get:" + Quarantine },
        { RabbitMqRoleAccounts.Ops, "bind:" + Events },
        { RabbitMqRoleAccounts.Ops, "default:" + Input },
        { RabbitMqRoleAccounts.Ops, "declare:my-queue" },
        { RabbitMqRoleAccounts.Ops, "delete:" + Error },
        // The bridge sends requests and reads its own responses.
        { RabbitMqRoleAccounts.Bridge, "get:" + Input },
        { RabbitMqRoleAccounts.Bridge, "get:" + Error },
        { RabbitMqRoleAccounts.Bridge, "bind:" + Events },
        { RabbitMqRoleAccounts.Bridge, "default:" + Error },
        { RabbitMqRoleAccounts.Bridge, "publish:" + Events },
        // The worker consumes requests; it does not tap the events it publishes.
        { RabbitMqRoleAccounts.Worker, "bind:" + Events },
        { RabbitMqRoleAccounts.Worker, "declare:my-queue" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Account_OutsideItsRole_IsRefused(string role, string operation)
    {
        await using var connection = await ConnectAsync(role);
        // A queue of its own to bind, where the account may have one (the refusal must then be the binding's).
        string? ownQueue = null;
        if (operation.StartsWith("bind:", StringComparison.Ordinal))
        {
            await using var own = await connection.CreateChannelAsync();
            ownQueue = await TryDeclareServerNamedAsync(own);
        }
        await using var channel = await connection.CreateChannelAsync(Confirms);
        var (verb, name) = (operation[..operation.IndexOf(':')], operation[(operation.IndexOf(':') + 1)..]);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => verb switch
        {
            "get" => channel.BasicGetAsync(name, autoAck: false),
            "bind" => channel.QueueBindAsync(ownQueue ?? Input, name, ""),
            "default" => channel.BasicPublishAsync("", name, true, new BasicProperties(), "{}"u8.ToArray()).AsTask(),
            "publish" => channel.BasicPublishAsync(name, "", true, new BasicProperties(), "{}"u8.ToArray()).AsTask(),
            "declare" => channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false),
            "delete" => channel.QueueDeleteAsync(name),
            "purge" => channel.QueuePurgeAsync(name),
            _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, null),
        });

        Assert.True(channel.CloseReason?.ReplyCode == AccessRefused,
            $"{role} {operation}: expected ACCESS_REFUSED, got {channel.CloseReason?.ReplyCode} {channel.CloseReason?.ReplyText} ({refused.GetType().Name}: {refused.Message})");
        Assert.StartsWith("ACCESS_REFUSED", channel.CloseReason!.ReplyText, StringComparison.Ordinal);
    }

    private static CreateChannelOptions Confirms => new(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);

    private Task<IConnection> ConnectAsync(string role) => ConnectAsync(fixture.Accounts, role);

    private static async Task<IConnection> ConnectAsync(RabbitMqRoleAccounts accounts, string role) =>
        await new ConnectionFactory { Uri = accounts.AmqpUri(role), ClientProvidedName = $"test-{role}" }.CreateConnectionAsync();

    private static async Task<string?> TryDeclareServerNamedAsync(IChannel channel)
    {
        try
        {
            return (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return null;
        }
    }

    private static async Task PublishRequestAsync(IChannel channel, string key, string? replyTo, string correlationId)
    {
        var request = new
        {
            requestId = Guid.NewGuid(), videoId = $"accounts-{Guid.NewGuid():N}", transcript = $"Hello and welcome to the show. ({Guid.NewGuid():N})",
            sourceLanguage = "en", targetLanguage = "ko", maxItems = 3,
        };
        var properties = new BasicProperties
        {
            ContentType = "application/json", ReplyTo = replyTo, CorrelationId = correlationId,
            Headers = new Dictionary<string, object?> { [VocabHeaders.ApiKey] = key },
        };
        await channel.BasicPublishAsync(Input, "", false, properties, JsonSerializer.SerializeToUtf8Bytes(request));
    }

    /// <summary>Starts consuming; the task returned completes with the first delivery.</summary>
    private static async Task<Task<(IReadOnlyBasicProperties Properties, byte[] Body)>> ConsumeOneAsync(IChannel channel, string queue)
    {
        var received = new TaskCompletionSource<(IReadOnlyBasicProperties, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            received.TrySetResult((delivery.BasicProperties, delivery.Body.ToArray()));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        return received.Task;
    }
}
