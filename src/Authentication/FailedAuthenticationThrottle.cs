using System.Net;
using System.Net.Sockets;
namespace Vocab.Authentication;

/// <summary>
/// Limits credential guessing per client address: only failures that could be guesses count (an unknown key, a bad
/// signature, an unknown <c>kid</c>, anything unreadable), never an expired, revoked or forbidden credential that proved
/// genuine, and a valid credential is served whatever its address's count. Each address (IPv6 by /64) has a window of its
/// own; the addresses held are bounded (the least recently seen going first). Addresses of trusted clients are never
/// counted. Used by every HTTP sign-in: the bridge (<c>Bridge:FailedAuthenticationsPerMinute</c>, ...) and the ops console.
/// </summary>
public sealed class FailedAuthenticationThrottle
{
    private const int Segments = 6;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private static readonly long SegmentTicks = Window.Ticks / Segments;

    private readonly int _permits;
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<System.Net.IPNetwork> _trusted;
    private readonly Lock _gate = new();
    private readonly Dictionary<AddressKey, LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _recency = new();

    /// <summary>A throttle allowing <paramref name="permitsPerMinute"/> guesses per address, holding at most <paramref name="addressLimit"/> addresses.</summary>
    public FailedAuthenticationThrottle(int permitsPerMinute, int addressLimit, IReadOnlyList<System.Net.IPNetwork> trusted, TimeProvider time)
    {
        _permits = permitsPerMinute;
        _capacity = addressLimit;
        _trusted = trusted;
        _time = time;
    }

    /// <summary>How many addresses are held now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _entries.Count;
        }
    }

    /// <summary>Whether the address belongs to a trusted client (a known backend), exempt from the throttle.</summary>
    public bool IsTrusted(IPAddress? address)
    {
        if (address is null)
            return false;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        foreach (var network in _trusted)
        {
            if (network.Contains(address))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Counts one possible guess from the address, unless it already used its allowance; then answers false with how long
    /// until it may guess again.
    /// </summary>
    public bool TryRecordGuess(IPAddress? address, out TimeSpan retryAfter)
    {
        var key = AddressKey.Of(address);
        var segment = _time.GetUtcNow().UtcTicks / SegmentTicks;
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
                _recency.Remove(node);
            else
            {
                if (_entries.Count >= _capacity)
                {
                    _entries.Remove(_recency.Last!.Value.Key);
                    _recency.RemoveLast();
                }
                node = new LinkedListNode<Entry>(new Entry(key));
                _entries.Add(key, node);
            }
            _recency.AddFirst(node);

            var entry = node.Value;
            entry.Advance(segment);
            if (entry.Total < _permits)
            {
                entry.Counts[(int)(segment % Segments)]++;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = entry.RetryAfter(segment, _permits, _time.GetUtcNow().UtcTicks);
            return false;
        }
    }

    /// <summary>One address, or one IPv6 /64 (a client usually owns a whole one), compared exactly.</summary>
    private readonly record struct AddressKey(UInt128 Value, bool IsV6)
    {
        public static AddressKey Of(IPAddress? address)
        {
            if (address is null)
                return default;
            if (address.IsIPv4MappedToIPv6)
                address = address.MapToIPv4();
            var bytes = address.GetAddressBytes();
            if (address.AddressFamily != AddressFamily.InterNetworkV6)
                return new AddressKey(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes), false);
            return new AddressKey(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes), true);
        }
    }

    /// <summary>A sliding window in segments: the guesses of each of the last <see cref="Segments"/> tenths of a minute.</summary>
    private sealed class Entry(AddressKey key)
    {
        public AddressKey Key { get; } = key;

        public int[] Counts { get; } = new int[Segments];

        private long _segment;

        public int Total => Counts.Sum();

        public void Advance(long segment)
        {
            for (var s = Math.Max(_segment + 1, segment - Segments + 1); s <= segment; s++)
                Counts[(int)(s % Segments)] = 0;
            _segment = Math.Max(_segment, segment);
        }

        // Until enough of the oldest segments have slid out for one more guess.
        public TimeSpan RetryAfter(long segment, int permits, long nowTicks)
        {
            var total = Total;
            for (var s = segment - Segments + 1; s <= segment; s++)
            {
                total -= Counts[(int)(s % Segments)];
                if (total < permits)
                    return TimeSpan.FromTicks(Math.Max(SegmentTicks / 10, (s + Segments) * SegmentTicks - nowTicks));
            }
            return Window;
        }
    }
}
