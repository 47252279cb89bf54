using RabbitMQ.Client;
using Vocab.Contracts;
using Vocab.Messaging;

namespace Vocab.Worker.DeadLetter;

/// <summary>
/// Makes the copy of a message that the worker keeps on a dead-letter queue. It fails closed: credential and trusted
/// headers are dropped by name; then any header, property or body that still holds a credential (a presented value or
/// anything shaped like one) is dropped too, the body included, while the rest of the metadata stays for ops, within
/// <see cref="HeaderBudget.PublisherBytes"/> of the publisher's headers.
/// </summary>
public static class CredentialScrubber
{
    /// <summary>Why a body was dropped, as written in <c>Vocab-Body-Removed</c>.</summary>
    public static class BodyRemoval
    {
        public const string NotJson = "not_json";
        public const string CredentialInBody = "credential_in_body";

        /// <summary>A credential or permission refusal: only its metadata is kept, on the bounded refused queue.</summary>
        public const string Refused = "refused";
    }

    /// <summary>A clean copy of the message.</summary>
    public static ScrubbedMessage Scrub(IReadOnlyBasicProperties? original, ReadOnlySpan<byte> body)
    {
        var detector = new CredentialDetector();
        var inbound = original?.Headers ?? new Dictionary<string, object?>();
        foreach (var (name, value) in inbound)
        {
            if (TrustedHeaders.IsCredential(name))
                detector.Add(HeaderText.Of(value));
        }

        var cleanBody = EnvelopeBodyScrubber.Scrub(body, detector);
        string? removedBecause = null;
        if (cleanBody is null)
            removedBecause = BodyRemoval.NotJson;
        else if (detector.Appears(cleanBody))
            removedBecause = BodyRemoval.CredentialInBody;

        var headers = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        long kept = 0;
        var dropped = 0;
        foreach (var (name, value) in inbound)
        {
            if (TrustedHeaders.IsCredential(name) || TrustedHeaders.IsTrusted(name) || TrustedHeaders.IsRequesterOnly(name) ||
                detector.Appears(name + "=" + HeaderText.Of(value)))
                continue;
            // Within the budget only: a copy must stay writable whatever the publisher sent (one frame for all headers).
            var size = HeaderBudget.SizeOf(name, value);
            if (kept + size > HeaderBudget.PublisherBytes)
            {
                dropped++;
                continue;
            }
            kept += size;
            headers[name] = value;
        }
        if (dropped > 0)
            headers[VocabHeaders.HeadersDropped] = dropped;

        var properties = original is null ? new BasicProperties() : new BasicProperties(original);
        properties.Headers = headers;
        ClearPropertiesHolding(properties, detector);
        return new ScrubbedMessage(properties, removedBecause is null ? cleanBody! : [], removedBecause, detector);
    }

    private static void ClearPropertiesHolding(BasicProperties properties, CredentialDetector detector)
    {
        bool Holds(string? value) => value is not null && detector.Appears(value);
        if (Holds(properties.CorrelationId)) properties.CorrelationId = null;
        if (Holds(properties.MessageId)) properties.MessageId = null;
        if (Holds(properties.ReplyTo)) properties.ReplyTo = null;
        if (Holds(properties.Type)) properties.Type = null;
        if (Holds(properties.AppId)) properties.AppId = null;
        if (Holds(properties.UserId)) properties.UserId = null;
        if (Holds(properties.ClusterId)) properties.ClusterId = null;
        if (Holds(properties.ContentType)) properties.ContentType = null;
        if (Holds(properties.ContentEncoding)) properties.ContentEncoding = null;
        if (Holds(properties.Expiration)) properties.Expiration = null;
    }
}
