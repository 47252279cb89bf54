using System.Text.Json;

namespace Vocab.TestSupport;

/// <summary>
/// A queue as the management API reports it: depth, consumers and, for a quorum queue, its leader node and how many
/// of its members there are and are online.
/// </summary>
public sealed record QueueState(string Name, long Ready, long Unacknowledged, int Consumers, string? Leader, int Members = 0, int Online = 0)
{
    public long Messages => Ready + Unacknowledged;

    public static QueueState From(JsonElement queue) => new(
        queue.GetProperty("name").GetString()!,
        Number(queue, "messages_ready"),
        Number(queue, "messages_unacknowledged"),
        (int)Number(queue, "consumers"),
        queue.TryGetProperty("leader", out var leader) ? leader.GetString() : null,
        Count(queue, "members"),
        Count(queue, "online"));

    public override string ToString() =>
        $"{Name} ready {Ready} unacked {Unacknowledged} consumers {Consumers} leader {Leader ?? "-"}{(Members > 0 ? $" members {Online}/{Members} online" : "")}";

    private static int Count(JsonElement queue, string name) =>
        queue.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array ? value.GetArrayLength() : 0;

    private static long Number(JsonElement queue, string name) =>
        queue.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
}
