using System.Text.Json;

namespace Vocab.TestSupport;

/// <summary>One chat call the <see cref="FakeLlmServer"/> received: when it arrived (UTC) and its body.</summary>
public sealed record FakeLlmCall(DateTime Arrived, JsonDocument Request);
