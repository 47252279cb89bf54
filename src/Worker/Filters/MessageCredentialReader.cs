using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;
using Vocab.Messaging;

namespace Vocab.Worker.Filters;

/// <summary>Reads the credential headers of a consumed message: the envelope's headers, else the AMQP headers of a plain-JSON message.</summary>
public static class MessageCredentialReader
{
    /// <summary>The credential the message carries.</summary>
    public static PresentedCredential Read(ConsumeContext context) =>
        PresentedCredential.FromHeaders(Header(context, VocabHeaders.ApiKey), Header(context, VocabHeaders.Authorization));

    private static string? Header(ConsumeContext context, string name) =>
        HeaderText.Of(context.Headers, name) ?? HeaderText.Of(context.ReceiveContext.TransportHeaders, name);
}
