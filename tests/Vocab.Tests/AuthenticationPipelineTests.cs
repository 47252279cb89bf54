using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Driver;
using RabbitMQ.Client;
using Vocab.Authentication.Jwt;
using Vocab.Contracts;
using Vocab.Vocabularies;
using Vocab.Tests.Infrastructure;
using Vocab.TestSupport;

namespace Vocab.Tests;

/// <summary>Every credential case through the real worker, broker, MongoDB and the local LLM endpoint.</summary>
public sealed class AuthenticationPipelineTests(WorkerFixture fixture) : IClassFixture<WorkerFixture>
{
    [Fact]
    public async Task Request_WithValidApiKey_GetsStoredVocabularyWithoutCredentialHeaders()
    {
        var (keyId, key) = await fixture.CreateApiKeyAsync("user-valid-key");
        var request = WorkerFixture.NewRequest();
        var callsBefore = fixture.Llm.CallCount;

        var response = await fixture.RequestAsync(request, c => c.UseApiKey(key));

        Assert.True(response.Is(out Response<VocabularyGenerated>? generated));
        Assert.Equal("user-valid-key", generated!.Message.UserId);
        Assert.Equal(request.RequestId, generated.Message.RequestId);
        Assert.Equal(3, generated.Message.Items.Count);
        Assert.Equal(33, generated.Message.Usage.TotalTokens);
        Assert.False(generated.Headers.TryGetHeader(VocabHeaders.ApiKey, out _));
        Assert.Equal(callsBefore + 1, fixture.Llm.CallCount);
        Assert.Contains(request.Transcript, fixture.Llm.Requests.Last().RootElement.GetRawText());

        var stored = await fixture.Services.GetRequiredService<VocabularyStore>().FindByRequestIdAsync(request.RequestId, default);
        Assert.NotNull(stored);
        Assert.Equal("user-valid-key", stored.UserId);
        Assert.Equal(request.VideoId, stored.VideoId);
        Assert.DoesNotContain(fixture.Logs.Lines, l => l.Contains(key, StringComparison.Ordinal));
        Assert.Contains(fixture.Logs.Lines, l => l.Contains("user-valid-key", StringComparison.Ordinal));
        _ = keyId;
    }

    [Fact]
    public async Task Request_WithValidHs256Jwt_Succeeds()
    {
        var token = fixture.Tokens.Hs256("user-hs256");
        var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token));
        Assert.True(response.Is(out Response<VocabularyGenerated>? generated));
        Assert.Equal("user-hs256", generated!.Message.UserId);
    }

    [Fact]
    public async Task Request_WithValidRs256Jwt_Succeeds()
    {
        var token = fixture.Tokens.Rs256("user-rs256");
        var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c => c.UseBearerToken(token));
        Assert.True(response.Is(out Response<VocabularyGenerated>? generated));
        Assert.Equal("user-rs256", generated!.Message.UserId);
    }

    public static TheoryData<string, string> RejectedCases => new()
    {
        { "none", RejectionReasons.MissingCredentials },
        { "unknown-key", RejectionReasons.InvalidCredentials },
        { "malformed-key", RejectionReasons.InvalidCredentials },
        { "inactive-key", RejectionReasons.RevokedCredentials },
        { "expired-key", RejectionReasons.ExpiredCredentials },
        { "jwt-bad-signature", RejectionReasons.InvalidCredentials },
        { "jwt-expired", RejectionReasons.ExpiredCredentials },
        { "jwt-not-yet-valid", RejectionReasons.InvalidCredentials },
        { "jwt-wrong-issuer", RejectionReasons.InvalidCredentials },
        { "jwt-wrong-audience", RejectionReasons.InvalidCredentials },
        { "jwt-alg-none", RejectionReasons.InvalidCredentials },
        { "jwt-hs256-with-rsa-public-key", RejectionReasons.InvalidCredentials },
        { "jwt-missing-jti", RejectionReasons.InvalidCredentials },
        { "jwt-blacklisted-jti", RejectionReasons.RevokedCredentials },
        { "jwt-unknown-kid", RejectionReasons.InvalidCredentials },
        { "jwt-user-revoked", RejectionReasons.RevokedCredentials },
        { "key-with-forbidden-role", RejectionReasons.Forbidden },
    };

    [Theory]
    [MemberData(nameof(RejectedCases))]
    public async Task Message_WithBadCredential_IsDeadLetteredWithReasonAndNoSecret(string credentialCase, string expectedReason)
    {
        var (apply, secret) = await CredentialFor(credentialCase);
        var request = WorkerFixture.NewRequest();
        var callsBefore = fixture.Llm.CallCount;

        var messageId = await fixture.SendAsync(request, apply);
        var deadLetter = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);

        Assert.Equal(expectedReason, deadLetter.Header(VocabHeaders.Reason));
        Assert.Equal(callsBefore, fixture.Llm.CallCount);
        Assert.Null(await fixture.Services.GetRequiredService<VocabularyStore>().FindByRequestIdAsync(request.RequestId, default));
        // A refusal cannot be replayed: only its metadata is kept, on the bounded refused queue.
        Assert.Equal("", deadLetter.Body);
        Assert.Equal("refused", deadLetter.Header(VocabHeaders.BodyRemoved));
        if (secret is not null)
        {
            Assert.DoesNotContain(secret, deadLetter.AllText, StringComparison.Ordinal);
            Assert.DoesNotContain(fixture.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
        Assert.Null(deadLetter.Header(VocabHeaders.ApiKey));
        Assert.Null(deadLetter.Header(VocabHeaders.Authorization));
    }

    [Fact]
    public async Task Request_WithRevokedJti_TellsTheRequesterInsteadOfTimingOut()
    {
        var jti = Guid.NewGuid().ToString("N");
        var token = fixture.Tokens.Hs256("user-revoked-requester", jti: jti);
        await fixture.Services.GetRequiredService<TokenBlacklist>().RevokeAsync(jti, DateTime.UtcNow.AddHours(1), DateTime.UtcNow, default);
        var request = WorkerFixture.NewRequest();

        var response = await fixture.RequestAsync(request, c => c.UseBearerToken(token), TimeSpan.FromSeconds(10));

        Assert.True(response.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.RevokedCredentials, rejected!.Message.Reason);
        Assert.Equal(request.RequestId, rejected.Message.RequestId);
        Assert.False(rejected.Headers.TryGetHeader(VocabHeaders.Authorization, out _));
    }

    [Fact]
    public async Task RefusedCredential_TheRequesterGetsTheRejectionAndNoFault()
    {
        // MassTransit's error pipe would otherwise send the requester a reason-less ReceiveFault after our rejection.
        var request = WorkerFixture.NewRequest();

        var (rejections, faults) = await AnswersAtRequesterAsync(request, c => c.UseApiKey("vk_unknown_0123456789abcdef0123456789abcdef"),
            WorkerFixture.RefusedQueueName);

        var rejection = Assert.Single(rejections);
        Assert.Equal(request.RequestId, rejection.RequestId);
        Assert.Equal(RejectionReasons.InvalidCredentials, rejection.Reason);
        Assert.Equal(0, faults);
    }

    [Fact]
    public async Task FailedInTheConsumer_TheRequesterGetsTheRejectionAndNoFault()
    {
        // A consumer that throws makes MassTransit send Fault<T>, which a request client may complete with before the
        // rejection that arrived first (it completes with whichever its thread pool finishes first).
        var (_, ownerKey) = await fixture.CreateApiKeyAsync("fault-owner");
        var (_, otherKey) = await fixture.CreateApiKeyAsync("fault-other");
        var request = WorkerFixture.NewRequest();
        await fixture.RequestAsync(request, c => c.UseApiKey(ownerKey));

        var (rejections, faults) = await AnswersAtRequesterAsync(request, c => c.UseApiKey(otherKey), WorkerFixture.RefusedQueueName);

        var rejection = Assert.Single(rejections);
        Assert.Equal(RejectionReasons.RequestIdReused, rejection.Reason);
        Assert.Equal(0, faults);
    }

    /// <summary>
    /// Sends the request with a receive endpoint of its own as response and fault address, and returns every rejection and
    /// fault (ReceiveFault or Fault&lt;GenerateVocabulary&gt;) that reached it.
    /// </summary>
    private async Task<(List<GenerateVocabularyRejected> Rejections, int Faults)> AnswersAtRequesterAsync(GenerateVocabulary request,
        Action<SendContext> credential, string deadLetterQueue)
    {
        var rejections = new List<GenerateVocabularyRejected>();
        var faults = 0;
        var marker = Guid.NewGuid();
        var markerSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A requester endpoint, temporary as a bus's own: the only kind the worker answers on.
        var requester = fixture.Publisher.ConnectReceiveEndpoint(RequesterEndpoints.NewName(), e =>
        {
            if (e is IRabbitMqReceiveEndpointConfigurator rabbit)
            {
                rabbit.Durable = false;
                rabbit.AutoDelete = true;
            }
            e.PrefetchCount = 1;
            e.ConcurrentMessageLimit = 1; // in arrival order, so the marker comes after anything sent before it
            e.Handler<GenerateVocabularyRejected>(context =>
            {
                if (context.Message.RequestId == marker)
                    markerSeen.TrySetResult();
                else
                    lock (rejections)
                        rejections.Add(context.Message);
                return Task.CompletedTask;
            });
            e.Handler<ReceiveFault>(_ =>
            {
                Interlocked.Increment(ref faults);
                return Task.CompletedTask;
            });
            e.Handler<Fault<GenerateVocabulary>>(_ =>
            {
                Interlocked.Increment(ref faults);
                return Task.CompletedTask;
            });
        });
        await requester.Ready;
        try
        {
            var messageId = await fixture.SendAsync(request, c =>
            {
                c.ResponseAddress = requester.ReceiveEndpoint.InputAddress;
                c.FaultAddress = requester.ReceiveEndpoint.InputAddress;
                credential(c);
            });
            // Whatever the worker sends the requester, it sends before the message reaches its dead-letter queue.
            await DeadLetterReader.WaitForAsync(fixture.Amqp, deadLetterQueue, messageId);
            var endpoint = await fixture.Publisher.GetSendEndpoint(requester.ReceiveEndpoint.InputAddress);
            await endpoint.Send(new GenerateVocabularyRejected { RequestId = marker, VideoId = "", Reason = "marker" });
            await markerSeen.Task.WaitAsync(TimeSpan.FromSeconds(30));
            lock (rejections)
                return (rejections.ToList(), Volatile.Read(ref faults));
        }
        finally
        {
            await requester.StopAsync();
        }
    }

    [Fact]
    public async Task Message_WithUserIdInBody_StillBelongsToTheAuthenticatedCaller()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("real-owner");
        var response = await fixture.RequestAsync(WorkerFixture.NewRequest(), c =>
        {
            c.UseApiKey(key);
            c.Headers.Set("X-User-Id", "someone-else");
        });
        Assert.True(response.Is(out Response<VocabularyGenerated>? generated));
        Assert.Equal("real-owner", generated!.Message.UserId);
    }

    [Fact]
    public async Task Redelivery_OfProcessedRequest_ReturnsStoredResultWithoutSecondLlmCall()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("user-redelivery");
        var request = WorkerFixture.NewRequest();

        var first = await fixture.RequestAsync(request, c => c.UseApiKey(key));
        var callsAfterFirst = fixture.Llm.CallCount;
        var second = await fixture.RequestAsync(request, c => c.UseApiKey(key));

        Assert.True(first.Is(out Response<VocabularyGenerated>? a));
        Assert.True(second.Is(out Response<VocabularyGenerated>? b));
        Assert.Equal(callsAfterFirst, fixture.Llm.CallCount);
        Assert.Equal(a!.Message.Items, b!.Message.Items);
        Assert.Equal(a.Message.GeneratedAt, b.Message.GeneratedAt);
    }

    /// <summary>
    /// Two callers publish one requestId at once: each id is claimed in its caller's own month while in flight, so each pays
    /// for its own call and gets its own list, never the other's; the first answer stored keeps the id, and the other
    /// caller's resend under it is refused as reused.
    /// </summary>
    [Fact]
    public async Task TwoCallers_RacingWithOneRequestId_NeverGetEachOthersList()
    {
        var (_, aliceKey) = await fixture.CreateApiKeyAsync("race-alice");
        var (_, bobKey) = await fixture.CreateApiKeyAsync("race-bob");
        var request = WorkerFixture.NewRequest();
        // A slow LLM lets both pass the look-up before either stores its result.
        fixture.Llm.Behaviour = _ => FakeLlmAnswer.Slow(TimeSpan.FromMilliseconds(500));
        try
        {
            var alice = fixture.RequestAsync(request, c => c.UseApiKey(aliceKey));
            var bob = fixture.RequestAsync(request with { VideoId = request.VideoId + "-bob" }, c => c.UseApiKey(bobKey));
            var responses = new[] { (User: "race-alice", Response: await alice), (User: "race-bob", Response: await bob) };

            foreach (var (user, response) in responses)
            {
                Assert.True(response.Is(out Response<VocabularyGenerated>? generated), $"{user} is answered with its own list");
                Assert.Equal(user, generated!.Message.UserId);
            }
            var stored = await fixture.Database.GetCollection<VocabularyDocument>(VocabularyStore.CollectionName)
                .Find(d => d.RequestId == request.RequestId.ToString("D")).SingleAsync();
            var (_, otherKey) = stored.UserId == "race-alice" ? ("race-bob", bobKey) : ("race-alice", aliceKey);
            var other = stored.UserId == "race-alice" ? request with { VideoId = request.VideoId + "-bob" } : request;
            var resent = await fixture.RequestAsync(other, c => c.UseApiKey(otherKey));
            Assert.True(resent.Is(out Response<GenerateVocabularyRejected>? rejected));
            Assert.Equal(RejectionReasons.RequestIdReused, rejected!.Message.Reason);
        }
        finally
        {
            fixture.Llm.Behaviour = _ => FakeLlmAnswer.Items(3);
        }
    }

    [Fact]
    public async Task Request_WithOtherUsersRequestId_IsRejectedAndDoesNotLeakTheirResult()
    {
        var (_, ownerKey) = await fixture.CreateApiKeyAsync("owner");
        var (_, otherKey) = await fixture.CreateApiKeyAsync("other");
        var request = WorkerFixture.NewRequest();
        await fixture.RequestAsync(request, c => c.UseApiKey(ownerKey));

        var response = await fixture.RequestAsync(request, c => c.UseApiKey(otherKey));

        Assert.True(response.Is(out Response<GenerateVocabularyRejected>? rejected));
        Assert.Equal(RejectionReasons.RequestIdReused, rejected!.Message.Reason);
    }

    [Fact]
    public async Task PlainJsonPublish_WithReplyTo_GetsPlainJsonResultWithSameCorrelationId()
    {
        var (_, key) = await fixture.CreateApiKeyAsync("user-plain-json");
        var request = WorkerFixture.NewRequest();
        var (reply, properties) = await PublishPlainJsonAsync(request, new Dictionary<string, object?> { [VocabHeaders.ApiKey] = key });

        Assert.Equal("application/json", properties.ContentType);
        using var json = JsonDocument.Parse(reply);
        Assert.Equal(request.RequestId.ToString(), json.RootElement.GetProperty("requestId").GetString());
        Assert.Equal("user-plain-json", json.RootElement.GetProperty("userId").GetString());
        Assert.Equal(3, json.RootElement.GetProperty("items").GetArrayLength());
        Assert.DoesNotContain(key, reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlainJsonPublish_WithoutCredential_GetsPlainJsonRejection()
    {
        var request = WorkerFixture.NewRequest();
        var (reply, _) = await PublishPlainJsonAsync(request, new Dictionary<string, object?>());

        using var json = JsonDocument.Parse(reply);
        Assert.Equal(RejectionReasons.MissingCredentials, json.RootElement.GetProperty("reason").GetString());
        Assert.Equal(request.RequestId.ToString(), json.RootElement.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task EveryConsumedMessageType_IsAuthenticatedBeforeItsConsumer()
    {
        var consumedTypes = typeof(Worker.Consumers.GenerateVocabularyConsumer).Assembly.GetTypes()
            .SelectMany(t => t.GetInterfaces())
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .Select(i => i.GetGenericArguments()[0])
            .Distinct()
            .ToList();
        Assert.NotEmpty(consumedTypes);

        foreach (var type in consumedTypes)
        {
            var callsBefore = fixture.Llm.CallCount;
            var message = type == typeof(GenerateVocabulary) ? WorkerFixture.NewRequest() : Activator.CreateInstance(type)!;
            var messageId = NewId.NextGuid();
            var endpoint = await fixture.Publisher.GetSendEndpoint(new Uri($"queue:{WorkerFixture.QueueName}"));
            await endpoint.Send(message, type, ctx => ctx.MessageId = messageId);

            var deadLetter = await DeadLetterReader.WaitForAsync(fixture.Amqp, WorkerFixture.RefusedQueueName, messageId);
            Assert.Equal(RejectionReasons.MissingCredentials, deadLetter.Header(VocabHeaders.Reason));
            Assert.Equal(callsBefore, fixture.Llm.CallCount);
        }
    }

    private async Task<(string Body, IReadOnlyBasicProperties Properties)> PublishPlainJsonAsync(GenerateVocabulary request, Dictionary<string, object?> headers)
    {
        await using var channel = await fixture.Amqp.CreateChannelAsync();
        var replyQueue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        var correlationId = $"corr-{Guid.NewGuid():N}";
        var body = JsonSerializer.SerializeToUtf8Bytes(request, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        var properties = new BasicProperties
        {
            ContentType = "application/json", ReplyTo = replyQueue, CorrelationId = correlationId,
            MessageId = Guid.NewGuid().ToString(), Headers = headers,
        };
        await channel.BasicPublishAsync("", WorkerFixture.QueueName, false, properties, body);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var result = await channel.BasicGetAsync(replyQueue, autoAck: true);
            if (result is not null)
            {
                Assert.Equal(correlationId, result.BasicProperties.CorrelationId);
                return (Encoding.UTF8.GetString(result.Body.Span), result.BasicProperties);
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("No plain-JSON reply.");
    }

    private async Task<(Action<SendContext> Apply, string? Secret)> CredentialFor(string credentialCase)
    {
        var tokens = fixture.Tokens;
        var user = $"user-{credentialCase}";
        switch (credentialCase)
        {
            case "none":
                return (_ => { }, null);
            case "unknown-key":
                var unknown = Authentication.ApiKeys.ApiKeyFormat.Generate().Key;
                return (c => c.UseApiKey(unknown), unknown);
            case "malformed-key":
                return (c => c.UseApiKey("not-a-vocab-key-secret-value"), "not-a-vocab-key-secret-value");
            case "inactive-key":
                var inactive = (await fixture.CreateApiKeyAsync(user, active: false)).Key;
                return (c => c.UseApiKey(inactive), inactive);
            case "expired-key":
                var expired = (await fixture.CreateApiKeyAsync(user, expiresAt: DateTime.UtcNow.AddMinutes(-1))).Key;
                return (c => c.UseApiKey(expired), expired);
            case "key-with-forbidden-role":
                var guest = (await fixture.CreateApiKeyAsync(user, role: "guest")).Key;
                return (c => c.UseApiKey(guest), guest);
        }

        var token = credentialCase switch
        {
            "jwt-bad-signature" => tokens.Hs256(user, secret: "another-secret-that-is-long-enough-for-hs256-xyz"),
            "jwt-expired" => tokens.Hs256(user, expires: DateTime.UtcNow.AddMinutes(-5)),
            "jwt-not-yet-valid" => tokens.Hs256(user, notBefore: DateTime.UtcNow.AddMinutes(5), expires: DateTime.UtcNow.AddMinutes(20)),
            "jwt-wrong-issuer" => tokens.Hs256(user, issuer: "https://evil.example"),
            "jwt-wrong-audience" => tokens.Hs256(user, audience: "another-api"),
            "jwt-alg-none" => TestTokens.Unsigned(user),
            "jwt-hs256-with-rsa-public-key" => tokens.Hs256SignedWithRsaPublicKey(user),
            "jwt-missing-jti" => tokens.Hs256(user, includeJti: false),
            "jwt-unknown-kid" => tokens.Hs256(user, keyId: "retired-kid"),
            "jwt-blacklisted-jti" => await BlacklistedToken(user),
            "jwt-user-revoked" => await UserRevokedToken(user),
            _ => throw new ArgumentOutOfRangeException(nameof(credentialCase), credentialCase, null),
        };
        return (c => c.UseBearerToken(token), token);
    }

    private async Task<string> BlacklistedToken(string user)
    {
        var jti = Guid.NewGuid().ToString("N");
        await fixture.Services.GetRequiredService<TokenBlacklist>().RevokeAsync(jti, DateTime.UtcNow.AddHours(1), DateTime.UtcNow, default);
        return fixture.Tokens.Hs256(user, jti: jti);
    }

    private async Task<string> UserRevokedToken(string user)
    {
        var token = fixture.Tokens.Hs256(user, issuedAt: DateTime.UtcNow.AddMinutes(-1));
        await fixture.Services.GetRequiredService<TokenBlacklist>().RevokeUserAsync(user, DateTime.UtcNow, default);
        return token;
    }
}
