using System.Text;
using MassTransit;
using Vocab.Authentication;
using Vocab.Contracts;

namespace Vocab.Worker.Filters;

/// <summary>Reads the credential headers of a consumed message: the envelope's headers, else the AMQP headers of a plain-JSON message.</summary>
public static class MessageCredentialReader
{
    /// <summary>The credential the message carries.</summary>
    public static PresentedCredential Read(ConsumeContext context) =>
        PresentedCredential.FromHeaders(Header(context, VocabHeaders.ApiKey), Header(context, VocabHeaders.Authorization));

    private static string? Header(ConsumeContext context, string name) =>
        AsString(context.Headers, name) ?? AsString(context.ReceiveContext.TransportHeaders, name);

    private static string? AsString(Headers headers, string name) =>
        headers.TryGetHeader(name, out var value)
            ? value switch
            {
                string text => text,
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                ReadOnlyMemory<byte> memory => Encoding.UTF8.GetString(memory.Span),
                _ => value?.ToString(),
            }
            : null;
}
