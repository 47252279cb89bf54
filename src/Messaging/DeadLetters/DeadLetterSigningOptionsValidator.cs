using System.Text;
using Microsoft.Extensions.Options;

namespace Vocab.Messaging.DeadLetters;

/// <summary>Fails start-up, naming the setting, when dead-lettered copies could not be signed or verified safely.</summary>
public sealed class DeadLetterSigningOptionsValidator : IValidateOptions<DeadLetterSigningOptions>
{
    /// <summary>HMAC-SHA256's block-size advice and the same floor as the JWT HS256 secret.</summary>
    public const int MinimumKeyBytes = 32;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DeadLetterSigningOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.SigningKey))
            failures.Add($"DeadLetter:SigningKey is required: a secret of at least {MinimumKeyBytes} bytes that signs dead-lettered copies (e.g. openssl rand -base64 48).");
        else if (Encoding.UTF8.GetByteCount(options.SigningKey) < MinimumKeyBytes)
            failures.Add($"DeadLetter:SigningKey must be at least {MinimumKeyBytes} bytes.");
        if (!IsKeyId(options.SigningKeyId))
            failures.Add("DeadLetter:SigningKeyId must be 1 to 64 letters, digits, '-', '_' or '.'.");

        for (var i = 0; i < options.PreviousKeys.Count; i++)
        {
            var key = options.PreviousKeys[i];
            if (!IsKeyId(key.Id))
                failures.Add($"DeadLetter:PreviousKeys:{i}:Id must be 1 to 64 letters, digits, '-', '_' or '.'.");
            if (Encoding.UTF8.GetByteCount(key.Secret ?? "") < MinimumKeyBytes)
                failures.Add($"DeadLetter:PreviousKeys:{i}:Secret must be at least {MinimumKeyBytes} bytes.");
        }

        var duplicate = options.PreviousKeys.Select(k => k.Id).Append(options.SigningKeyId)
            .GroupBy(id => id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            failures.Add($"DeadLetter:SigningKeyId and DeadLetter:PreviousKeys name the key '{duplicate.Key}' twice.");

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsKeyId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
