using MassTransit;

namespace Vocab.Contracts;

/// <summary>Attaches a credential to a MassTransit send or publish: <c>bus.Publish(message, ctx =&gt; ctx.UseApiKey(key))</c>.</summary>
public static class CredentialSendContextExtensions
{
    /// <summary>Sends the message with an API key.</summary>
    public static void UseApiKey(this SendContext context, string apiKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        context.Headers.Set(VocabHeaders.ApiKey, apiKey);
    }

    /// <summary>Sends the message with a JWT as a bearer token.</summary>
    public static void UseBearerToken(this SendContext context, string jwt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jwt);
        context.Headers.Set(VocabHeaders.Authorization, $"{VocabHeaders.BearerScheme} {jwt}");
    }
}
