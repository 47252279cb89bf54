using RabbitMQ.Client;

namespace Vocab.Worker.DeadLetter;

/// <summary>A copy of a message that is safe to keep: no credential in its properties, headers or body.</summary>
/// <param name="Properties">The AMQP properties, credential and trusted headers removed.</param>
/// <param name="Body">The body, or empty when it could not be cleaned with certainty.</param>
/// <param name="BodyRemovedBecause">Why the body was dropped; null when it was kept.</param>
/// <param name="Detector">What the message presented as credentials, and their shapes: for text the worker adds to the copy.</param>
public sealed record ScrubbedMessage(BasicProperties Properties, byte[] Body, string? BodyRemovedBecause, CredentialDetector Detector);
